namespace CacheInvalidation.Tests.Infrastructure;

/// <summary>
/// The tests that use the shared Redis. They run one after another, so server-wide counters (INFO commandstats) only
/// see the commands of the test that reads them.
/// </summary>
[CollectionDefinition(Name)]
public sealed class RedisCollection : ICollectionFixture<RedisFixture>
{
    public const string Name = "redis";
}
