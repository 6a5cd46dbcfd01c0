// Route schemas compiled when a route first needs them, not all before the server listens: ajv and
// fast-json-stringify compiling every route's schemas were about a fifth of start-up (profiled: ~0.45 s of 2.3 s).
import AjvCompiler from '@fastify/ajv-compiler';
import SerializerSelector from '@fastify/fast-json-stringify-compiler';
import type { FastifyServerOptions } from 'fastify';

/** What Fastify passes a compiler: the schema of one part of one route. */
interface RouteSchema {
  readonly schema: unknown;
}
/** An ajv validate function: Fastify passes the request as parent data (for root coercion) when `schemaEnv` is set. */
type Validate = ((data: unknown, parent?: unknown) => unknown) & { errors?: unknown; schemaEnv?: unknown };
type Serialize = (data: unknown) => string;
type BuildCompiler<F> = (externalSchemas: unknown, options: unknown) => (route: RouteSchema) => F;
type CompilersFactory = NonNullable<NonNullable<FastifyServerOptions['schemaController']>['compilersFactory']>;

const compileAllOf = new WeakMap<object, () => number>();

/**
 * Compiles every schema of `app`'s routes that no request has needed yet, and answers how many that was; throws what
 * a broken schema throws.
 */
export function compileAllSchemas(app: object): number {
  const compileAll = compileAllOf.get(app);
  if (!compileAll) throw new Error('this Fastify instance was not built with lazySchemaCompilers');
  return compileAll();
}

/**
 * Fastify's own compilers (`@fastify/ajv-compiler`, `@fastify/fast-json-stringify-compiler`, with the server's
 * `ajv` and `serializerOpts`), each route schema compiled on its first use and kept. `bind` lets `compileAllSchemas`
 * compile what is still pending, so a test finds a schema that does not compile without a request to every route.
 */
export function lazySchemaCompilers(): { compilersFactory: CompilersFactory; bind(app: object): void } {
  const pending = new Set<() => void>();
  const eventually = <F>(compile: () => F): (() => F) => {
    let compiled: F | undefined;
    const get = (): F => {
      if (compiled === undefined) {
        compiled = compile();
        pending.delete(get);
      }
      return compiled;
    };
    pending.add(get);
    return get;
  };

  const validators = AjvCompiler() as unknown as BuildCompiler<Validate>;
  const serializers = SerializerSelector() as unknown as BuildCompiler<Serialize>;
  // Even the compiler (an ajv instance, ~0.1 s to build) waits for the first schema it has to compile.
  const buildValidator: BuildCompiler<Validate> = (externalSchemas, options) => {
    let compile: ((route: RouteSchema) => Validate) | undefined;
    return (route) => {
      const validator = eventually(() => (compile ??= validators(externalSchemas, options))(route));
      // Fastify reads `errors` off the function it called, where ajv leaves them on its own.
      const validate: Validate = (data, parent) => {
        const own = validator();
        const valid = own(data, parent);
        validate.errors = own.errors;
        return valid;
      };
      // Every validator here is ajv's: Fastify passes the request along, so that ajv may coerce a root value.
      validate.schemaEnv = true;
      return validate;
    };
  };
  const buildSerializer: BuildCompiler<Serialize> = (externalSchemas, options) => {
    let compile: ((route: RouteSchema) => Serialize) | undefined;
    return (route) => {
      const serializer = eventually(() => (compile ??= serializers(externalSchemas, options))(route));
      return (data) => serializer()(data);
    };
  };
  const compilersFactory = { buildValidator, buildSerializer } as unknown as CompilersFactory;
  return {
    compilersFactory,
    bind(app) {
      compileAllOf.set(app, () => {
        const left = [...pending];
        for (const compile of left) compile();
        return left.length;
      });
    },
  };
}
