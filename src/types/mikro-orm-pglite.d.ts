// mikro-orm-pglite ships its types for ESM resolution only; this project compiles to CommonJS (the
// package's `require` entry works at runtime). Point the type checker at the same declarations.
declare module 'mikro-orm-pglite' {
  export * from 'mikro-orm-pglite/dist/index';
}
