export * from './keys.js';
export * from './errors.js';
export * from './connect.js';
export * from './codec.js';
export * from './projection.js';
export * from './reanchor.js';
export * from './streams.js';
export { startEmbeddedRedis, hasRedisServer, RedisServerMissingError, type EmbeddedRedis } from './embedded.js';
