package workload

import (
	"context"
	"errors"
	"fmt"
	"net"
	"syscall"

	"github.com/redis/go-redis/v9"
)

// RedisDriver runs the key-value operations against a Redis server with the
// go-redis client: get is GET (nil is a definite not-found), put is SET,
// delete is DEL. A write whose answer is lost is indeterminate, as with the
// demo cluster, so the consistency checks judge Redis the same way.
type RedisDriver struct {
	client *redis.Client
}

// NewRedisDriver returns a driver for the server at addr (host:port), with
// a connection pool of poolSize (the workload's MaxInFlight). The client
// does not retry: one operation is one request.
func NewRedisDriver(addr string, db, poolSize int) *RedisDriver {
	return &RedisDriver{client: redis.NewClient(&redis.Options{
		Addr:       addr,
		DB:         db,
		PoolSize:   max(poolSize, 1),
		MaxRetries: -1, // no retries: the history must see what was sent
		// Deadlines come from each operation's context.
		ContextTimeoutEnabled: true,
		Protocol:              2,
		DisableIdentity:       true,
	})}
}

// Close closes the connection pool.
func (d *RedisDriver) Close() error { return d.client.Close() }

// Get reads key; nil means absent. It is for reading back after a run.
func (d *RedisDriver) Get(ctx context.Context, key string) (*string, error) {
	v, err := d.client.Get(ctx, key).Result()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &v, nil
}

// Do runs one operation.
func (d *RedisDriver) Do(ctx context.Context, op Op) Result {
	switch op.Kind {
	case OpGet:
		v, err := d.client.Get(ctx, op.Key).Bytes()
		if errors.Is(err, redis.Nil) {
			return Result{Outcome: OutcomeOK}
		}
		if err != nil {
			return redisError(ctx, op, err)
		}
		return Result{Outcome: OutcomeOK, Found: true, Value: v}
	case OpPut:
		if err := d.client.Set(ctx, op.Key, op.Value, 0).Err(); err != nil {
			return redisError(ctx, op, err)
		}
		return Result{Outcome: OutcomeOK}
	case OpDelete:
		if err := d.client.Del(ctx, op.Key).Err(); err != nil {
			return redisError(ctx, op, err)
		}
		return Result{Outcome: OutcomeOK}
	}
	return Result{Outcome: OutcomeFail, Class: ClassUnexpected, Err: fmt.Errorf("redis driver: operation %s is not supported", op.Kind)}
}

// redisError classifies a failed operation: a Redis error reply (the server
// refused the command) certainly had no effect; a transport failure or a
// timeout may have, for writes.
func redisError(ctx context.Context, op Op, err error) Result {
	err = fmt.Errorf("%s %s: %w", op.Kind, op.Key, err)
	var re redis.Error
	var ne net.Error
	var oe *net.OpError
	switch {
	case errors.As(err, &re) && !errors.Is(err, context.DeadlineExceeded) && !errors.As(err, &ne):
		return Result{Outcome: OutcomeFail, Class: ClassServerError, Err: err}
	case errors.Is(err, syscall.ECONNREFUSED) || errors.As(err, &oe) && oe.Op == "dial":
		return Result{Outcome: OutcomeFail, Class: ClassTransport, Err: err}
	}
	return transportResult(ctx, op.Kind, err)
}
