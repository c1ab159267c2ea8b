/** The Date header: the cached string every response copies vs formatting a fresh one. */
import { dateHeaderLine, httpDate } from '../../src/util/date.js';
import { Suite } from './harness.js';

export const suite = new Suite('date')
  .add('httpDate() (cached once a second)', () => httpDate())
  .add('dateHeaderLine() (cached)', () => dateHeaderLine())
  .add('baseline: new Date().toUTCString()', () => new Date().toUTCString());
