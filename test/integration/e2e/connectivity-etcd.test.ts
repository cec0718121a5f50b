/** The connectivity suite (connectivity-suite.ts) with the API server on etcd. */
import { connectivitySuite } from './connectivity-suite.js';

connectivitySuite('etcd');
