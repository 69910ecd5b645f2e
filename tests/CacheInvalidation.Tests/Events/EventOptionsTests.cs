using CacheInvalidation.Events;
using Microsoft.Extensions.DependencyInjection;

namespace CacheInvalidation.Tests.Events;

public sealed class EventOptionsTests
{
    [Fact]
    public void Handler_map_rejects_empty_types_and_null_handlers()
    {
        var options = new InvalidationConsumerOptions();

        Assert.Throws<ArgumentException>(() => options.Map("", _ => []));
        Assert.Throws<ArgumentNullException>(() => options.Map("x", null!));
        options.Map("product.updated", _ => [InvalidationAction.All]);
        Assert.Single(options.Handlers);
    }

    [Fact]
    public void Relay_without_a_connection_factory_fails_when_resolved_naming_the_option()
    {
        var services = new ServiceCollection();
        services.AddSmartCache(o => o.Configuration = "localhost:6379").AddOutboxRelay(_ => { });
        using ServiceProvider provider = services.BuildServiceProvider();

        var ex = Assert.Throws<ArgumentException>(() => provider.GetRequiredService<OutboxRelay>());
        Assert.Contains("OutboxRelayOptions.OpenConnection", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Namespace_scan_options_reject_bad_pacing()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new NamespaceInvalidationOptions { BatchSize = 0 });
        Assert.Throws<ArgumentOutOfRangeException>(() => new NamespaceInvalidationOptions { BatchSize = 10_001 });
        Assert.Throws<ArgumentOutOfRangeException>(() => new NamespaceInvalidationOptions { MaxKeysPerSecond = 0 });
        Assert.Equal(500, new NamespaceInvalidationOptions().BatchSize);
    }

    [Fact]
    public void Builder_extensions_reject_null_arguments()
    {
        ISmartCacheBuilder builder = new ServiceCollection().AddSmartCache(o => o.Configuration = "localhost:6379");

        Assert.Throws<ArgumentNullException>(() => builder.AddInvalidationConsumer(null!));
        Assert.Throws<ArgumentNullException>(() => builder.AddOutboxRelay(null!));
        Assert.Throws<ArgumentNullException>(() => builder.WithConnectionMultiplexer((StackExchange.Redis.IConnectionMultiplexer)null!));
        Assert.Throws<ArgumentNullException>(() => new ServiceCollection().AddSmartCache(null!));
    }
}
