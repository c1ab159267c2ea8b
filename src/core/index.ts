export * from './errors.js';
export * from './status.js';
export * from './types.js';
export { HeaderList } from './headers.js';
