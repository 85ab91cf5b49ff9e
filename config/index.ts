export * from './types';
export * from './environments';
export * from './images';
export * from './validate';
export * from './load';
