import { lifecycleSuite } from './lifecycle.ts';

lifecycleSuite('chartmuseum');
