import { lifecycleSuite } from './lifecycle.ts';

lifecycleSuite('local');
