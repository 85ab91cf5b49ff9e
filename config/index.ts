export * from './advisories';
export * from './environments';
export * from './images';
export * from './load';
export * from './types';
export * from './validate';
