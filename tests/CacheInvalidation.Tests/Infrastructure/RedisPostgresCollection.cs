namespace CacheInvalidation.Tests.Infrastructure;

/// <summary>The tests of the event path on PostgreSQL: a private Redis and a private PostgreSQL 15, one test after another.</summary>
[CollectionDefinition(Name)]
public sealed class RedisPostgresCollection : ICollectionFixture<RedisFixture>, ICollectionFixture<PostgresFixture>
{
    public const string Name = "redis+postgres";
}
