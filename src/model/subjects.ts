/**
 * What a north-bound record is about, for routed watches (store/types.ts `SubjectFn`): the
 * subjects a chassis can hold, as declared per collection in collections.ts. Keys outside the
 * collections a chassis reads have no subject: a routed watcher never receives them.
 *
 * Reads the routing header (model/record-codec.ts) and parses a record only when its header
 * cannot tell.
 */
import { aboutStored, collectionOfKey } from './collections.js';
import type { SubjectFn } from '../store/types.js';

export {
  groupMembersSubject,
  groupSubject,
  isRouterInterface,
  networkSubject,
  portSubject,
  routerSubject,
} from './collections.js';

const NO_SUBJECT: readonly string[] = [];

/** The subjects of north-bound key `key` holding `value` (undefined: the key has no value). */
export const nbSubjects: SubjectFn = Object.assign(nbSubjectsOf, { routeName: 'nb' });

/** The store service's routes by name (see store/http-service.ts). */
export const STORE_ROUTES: Readonly<Record<string, SubjectFn>> = { nb: nbSubjects };

function nbSubjectsOf(key: string, value: string | undefined): readonly string[] | undefined {
  const c = collectionOfKey(key);
  if (!c) return NO_SUBJECT;
  if (c.header.length === 0) return aboutStored(c, key, '');
  if (value === undefined) return NO_SUBJECT;
  return aboutStored(c, key, value); // undefined: cannot tell, deliver to all
}
