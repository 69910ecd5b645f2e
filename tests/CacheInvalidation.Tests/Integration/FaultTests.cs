using System.Net;
using System.Net.Sockets;
using CacheInvalidation.Client;
using CacheInvalidation.Keys;
using Microsoft.Extensions.Options;

namespace CacheInvalidation.Tests.Integration;

/// <summary>Redis unreachable: reads fall back to the source, writes and invalidations fail loudly.</summary>
public sealed class FaultTests : IDisposable
{
    private readonly SmartCache _cache;

    public FaultTests()
    {
        // A port nobody listens on: every connection attempt is refused.
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        _cache = new SmartCache(Options.Create(new SmartCacheOptions
        {
            Configuration = $"127.0.0.1:{port},connectTimeout=300,asyncTimeout=300,syncTimeout=300,connectRetry=0",
        }));
    }

    public void Dispose() => _cache.Dispose();

    [Fact]
    public async Task Get_or_set_returns_the_factory_value_when_redis_is_unreachable()
    {
        using var metrics = new MetricRecorder();
        int calls = 0;

        int first = await _cache.GetOrSetAsync(CacheKey.Create("k"), _ => ValueTask.FromResult(++calls));
        int second = await _cache.GetOrSetAsync(CacheKey.Create("k"), _ => ValueTask.FromResult(++calls));

        Assert.Equal(1, first);
        Assert.Equal(2, second);
        Assert.True(metrics["cacheinvalidation.requests/error"] >= 2);
    }

    [Fact]
    public async Task Get_is_a_miss_when_redis_is_unreachable()
    {
        CacheResult<string> result = await _cache.GetAsync<string>(CacheKey.Create("k"));

        Assert.False(result.Found);
    }

    [Fact]
    public async Task Writes_and_invalidations_fail_loudly_when_redis_is_unreachable()
    {
        await Assert.ThrowsAsync<CacheStoreException>(async () => await _cache.SetAsync(CacheKey.Create("k"), 1));
        await Assert.ThrowsAsync<CacheStoreException>(async () => await _cache.InvalidateKeyAsync(CacheKey.Create("k")));
        var ex = await Assert.ThrowsAsync<CacheStoreException>(async () => await _cache.InvalidateAllAsync());
        Assert.NotNull(ex.InnerException);
    }
}
