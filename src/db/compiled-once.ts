// Queries Kysely builds and compiles once and that then run with other values: on the upload path building and
// compiling a query cost more than SQLite took to run it.
import type { CompiledQuery, Compilable } from 'kysely';

/** Stands for an argument while the query is built: it ends up among the compiled query's parameters. */
class Placeholder {
  constructor(readonly index: number) {}
}

/**
 * `build` is called once, with placeholders for its arguments, and must use each of them as a value of the query only
 * (compared, inserted, set), never to decide its shape: a query whose SQL depends on the values (a null compared with
 * IS, a list of any length) needs one compiledOnce per shape. Every call after answers the compiled query with the
 * call's values in place of the placeholders.
 */
export function compiledOnce<A extends unknown[], R>(build: (...args: A) => Compilable<R>): (...args: A) => CompiledQuery<R> {
  let compiled: CompiledQuery<R> | undefined;
  let slots: number[] = [];
  return (...args: A): CompiledQuery<R> => {
    if (!compiled) {
      const query = build(...(args.map((_, i) => new Placeholder(i)) as A)).compile();
      slots = query.parameters.map((p) => (p instanceof Placeholder ? p.index : -1));
      const missing = args.findIndex((_, i) => !slots.includes(i));
      if (missing !== -1) throw new Error(`compiledOnce: argument ${missing} is not a parameter of ${query.sql}`);
      compiled = query;
    }
    const { parameters } = compiled;
    const values = new Array<unknown>(parameters.length);
    for (let i = 0; i < parameters.length; i += 1) {
      const slot = slots[i]!;
      values[i] = slot === -1 ? parameters[i] : args[slot];
    }
    return { ...compiled, parameters: values };
  };
}

/**
 * compiledOnce for a query built from one row object (an INSERT of it): the columns are the first row's keys, and every
 * row after must have the same keys, all of them defined.
 */
export function compiledOnceForRow<T extends object, R>(build: (row: T) => Compilable<R>): (row: T) => CompiledQuery<R> {
  let compiled: { columns: string[]; query: (...values: unknown[]) => CompiledQuery<R> } | undefined;
  return (row: T): CompiledQuery<R> => {
    const record = row as Record<string, unknown>;
    if (!compiled) {
      const columns = Object.keys(record);
      compiled = { columns, query: compiledOnce((...values: unknown[]) => build(Object.fromEntries(columns.map((key, i) => [key, values[i]])) as T)) };
    }
    return compiled.query(...compiled.columns.map((column) => record[column]));
  };
}
