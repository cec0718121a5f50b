/** North-south end to end on the sqlite store (see north-south-suite.ts). */
import { northSouthSuite } from './north-south-suite.js';

northSouthSuite('sqlite');
