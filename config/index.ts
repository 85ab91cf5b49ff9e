export * from './types';
export * from './environments';
export * from './validate';
export * from './load';
