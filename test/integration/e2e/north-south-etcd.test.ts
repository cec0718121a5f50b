/** North-south end to end on the etcd store (see north-south-suite.ts). */
import { northSouthSuite } from './north-south-suite.js';

northSouthSuite('etcd');
