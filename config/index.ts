export * from './types';
export * from './environments';
export * from './images';
export * from './advisories';
export * from './validate';
export * from './load';
