using System.Diagnostics;
using CacheInvalidation.Client;
using CacheInvalidation.Events;
using CacheInvalidation.Keys;
using CacheInvalidation.Policy;
using CacheInvalidation.Tests.Infrastructure;
using CacheInvalidation.Tests.Integration;
using StackExchange.Redis;

namespace CacheInvalidation.Tests.Local;

/// <summary>
/// The local tier on two nodes (two connections) of a private redis-server: hits from memory, invalidations from the
/// other node, lost messages, a killed subscriber connection, a paused server and the no-stale-insert rule.
/// </summary>
public sealed class LocalTierTests(LocalTierTests.Server server) : IClassFixture<LocalTierTests.Server>
{
    private static readonly TimeSpan Budget = TimeSpan.FromSeconds(1);
    private static readonly CacheKey Key = CacheKey.Entity("product", 1);

    [Fact]
    public async Task Hit_from_memory_sends_nothing_to_redis_and_runs_no_factory()
    {
        await using var nodes = await Nodes.StartAsync(server, ConfigureLongBudget);
        int calls = 0;
        await nodes.B.GetOrSetAsync(Key, _ => ValueTask.FromResult(++calls));
        await ServedFromMemoryAsync(nodes.B, Key);
        int cached = await nodes.B.GetOrSetAsync(Key, _ => ValueTask.FromResult(++calls));
        int callsBefore = calls;
        long mgets = await CommandCallsAsync("mget");
        using var metrics = new MetricRecorder();

        for (int i = 0; i < 100; i++)
        {
            Assert.Equal(cached, await nodes.B.GetOrSetAsync(Key, _ => ValueTask.FromResult(++calls)));
        }

        Assert.Equal(callsBefore, calls);
        Assert.Equal(100, metrics["cacheinvalidation.requests/local"]);
        Assert.Equal(mgets, await CommandCallsAsync("mget"));
    }

    [Fact]
    public async Task Hit_from_memory_allocates_nothing()
    {
        await using var nodes = await Nodes.StartAsync(server, ConfigureLongBudget);
        Func<CancellationToken, ValueTask<string>> factory = static _ => ValueTask.FromResult("value");
        await nodes.B.GetOrSetAsync(Key, factory);
        await ServedFromMemoryAsync(nodes.B, Key);
        for (int i = 0; i < 1_000; i++)
        {
            await nodes.B.GetOrSetAsync(Key, factory);
        }

        const int Reads = 10_000;
        int synchronous = 0;
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < Reads; i++)
        {
            ValueTask<string> read = nodes.B.GetOrSetAsync(Key, factory);
            if (read.IsCompletedSuccessfully)
            {
                synchronous++;
            }

            await read;
        }

        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(Reads, synchronous);
        Assert.True(allocated < Reads / 10, $"{allocated} bytes for {Reads} hits from memory");
    }

    [Fact]
    public async Task Data_class_without_budget_is_never_served_from_memory()
    {
        await using var nodes = await Nodes.StartAsync(server, o =>
        {
            Configure(o);
            o.Policies[DataClass.Important] = CachePolicy.Ttl(TimeSpan.FromMinutes(5)); // no stale budget
        });
        using var metrics = new MetricRecorder();
        for (int i = 0; i < 20; i++)
        {
            await nodes.B.GetOrSetAsync(Key, _ => ValueTask.FromResult(1));
            await nodes.B.ConfirmLocalAsync();
        }

        Assert.Equal(0, metrics["cacheinvalidation.requests/local"]);
        Assert.Equal(19, metrics["cacheinvalidation.requests/hit"]);
    }

    public static TheoryData<string> OwnKinds => new() { "key", "source", "namespace", "all", "set" };

    [Theory]
    [MemberData(nameof(OwnKinds))]
    public async Task Own_invalidation_leaves_memory_before_the_call_returns(string kind)
    {
        await using var nodes = await Nodes.StartAsync(server, Configure);
        var options = new CacheEntryOptions { DependsOn = ["product:1"] };
        int source = 1;
        Assert.Equal(1, await nodes.A.GetOrSetAsync(Key, _ => ValueTask.FromResult(source), options));
        await ServedFromMemoryAsync(nodes.A, Key, options);

        source = 2;
        switch (kind)
        {
            case "key": await nodes.A.InvalidateKeyAsync(Key); break;
            case "source": await nodes.A.InvalidateSourceAsync("product:1"); break;
            case "namespace": await nodes.A.InvalidateNamespaceVersionAsync("product"); break;
            case "all": await nodes.A.InvalidateAllAsync(); break;
            default: await nodes.A.SetAsync(Key, 2, options); break;
        }

        // No wait, no confirmation: the very next read of the node that invalidated sees the new value.
        Assert.Equal(2, await nodes.A.GetOrSetAsync(Key, _ => ValueTask.FromResult(source), options));
    }

    [Fact]
    public async Task Invalidation_on_one_node_reaches_the_other_node_by_message()
    {
        await using var nodes = await Nodes.StartAsync(server, ConfigureLongBudget);
        await nodes.B.GetOrSetAsync(Key, _ => ValueTask.FromResult(1));
        await ServedFromMemoryAsync(nodes.B, Key);
        using var metrics = new MetricRecorder();

        await nodes.A.InvalidateKeyAsync(Key);
        await Eventually.HoldsAsync(async () => !(await nodes.B.GetAsync<int>(Key)).Found);

        Assert.True(metrics["cacheinvalidation.local.evictions"] >= 1, "B removed the entry because the message named it");
        Assert.Equal(0, metrics["cacheinvalidation.local.gaps"]);
    }

    [Fact]
    public async Task Entry_pruned_from_its_index_after_redis_lost_it_leaves_every_node_memory()
    {
        await using var nodes = await Nodes.StartAsync(server, Configure);
        var options = new CacheEntryOptions { DependsOn = ["product:1"] };
        await nodes.B.GetOrSetAsync(Key, _ => ValueTask.FromResult(1), options);
        await ServedFromMemoryAsync(nodes.B, Key, options);

        // Redis loses the entry (evicted, say) while B still holds it; pruning then drops it from the source's index, so
        // a later invalidation of the source could not name it: the pruning itself must announce it.
        await using ConnectionMultiplexer admin = await ConnectionMultiplexer.ConnectAsync(server.Process.ConnectionString);
        string entryKey = nodes.A.Layout.Address(Key).EntryKey;
        await admin.GetDatabase().KeyDeleteAsync([entryKey, entryKey + "#l"]);
        Assert.Equal(1, await nodes.A.PruneSourceIndexAsync("product:1"));

        await Eventually.HoldsAsync(async () => !(await nodes.B.GetAsync<int>(Key)).Found);
    }

    [Fact]
    public async Task Event_applied_on_one_node_reaches_the_other_node_memory()
    {
        await using var nodes = await Nodes.StartAsync(server, ConfigureLongBudget);
        var options = new CacheEntryOptions { DependsOn = ["product:1"] };
        await nodes.B.GetOrSetAsync(Key, _ => ValueTask.FromResult(1), options);
        await ServedFromMemoryAsync(nodes.B, Key, options);
        await using ConnectionMultiplexer connection = await ConnectionMultiplexer.ConnectAsync(server.Process.ConnectionString);
        var stream = new RedisEventStream(RedisConnection.FromExisting(connection), $"{{{nodes.A.Layout.Prefix}}}:events");
        var consumerOptions = new InvalidationConsumerOptions { ConsumerName = "node-a", PollInterval = TimeSpan.FromMilliseconds(20) };
        var consumer = new InvalidationConsumer(nodes.A, stream, new FixedOptionsMonitor<InvalidationConsumerOptions>(consumerOptions), null, null);
        using var stop = new CancellationTokenSource();
        Task running = consumer.RunAsync(stop.Token);
        using var metrics = new MetricRecorder();

        var updated = new InvalidationEvent { Type = "product.updated", Entity = "product:1", EntityVersion = 2, Sources = ["product:1"] };
        await stream.PublishAsync(updated.Id, InvalidationEventJson.Serialize(updated));
        await Eventually.HoldsAsync(async () => !(await nodes.B.GetAsync<int>(Key)).Found, "node B still serves the entry the event invalidated on node A");
        await Eventually.HoldsAsync(() => metrics["cacheinvalidation.events/applied"] >= 1); // counted once the event is done
        await stop.CancelAsync();
        await running;

        Assert.Equal(1, metrics["cacheinvalidation.events/applied"]);
        Assert.True(metrics["cacheinvalidation.local.evictions"] >= 1, "B removed the entry because A's drain named it");
    }

    [Fact]
    public async Task Lost_messages_are_caught_by_the_confirmation_and_flushed()
    {
        DroppingFeed? dropping = null;
        await using var nodes = await Nodes.StartAsync(server, Configure, feedB: f => dropping = new DroppingFeed(f, seed: 1));
        int source = 1;
        await nodes.B.GetOrSetAsync(Key, _ => ValueTask.FromResult(source));
        await ServedFromMemoryAsync(nodes.B, Key);
        using var metrics = new MetricRecorder();

        source = 2;
        await nodes.A.InvalidateKeyAsync(Key);
        await Eventually.HoldsAsync(() => Task.FromResult(dropping!.Dropped >= 1)); // the message reached B and was lost
        await nodes.B.ConfirmLocalAsync(); // the invalidation's number is read: pending, its message may be on its way
        await nodes.B.ConfirmLocalAsync(); // still not applied: lost — the shard is flushed

        Assert.Equal(2, await nodes.B.GetOrSetAsync(Key, _ => ValueTask.FromResult(source)));
        Assert.True(metrics["cacheinvalidation.local.gaps"] >= 1);
        Assert.True(metrics["cacheinvalidation.local.flushes/gap"] >= 1);
    }

    [Fact]
    public async Task Killed_subscriber_connection_flushes_memory_and_later_invalidations_still_arrive()
    {
        await using var nodes = await Nodes.StartAsync(server, Configure);
        int source = 1;
        await nodes.B.GetOrSetAsync(Key, _ => ValueTask.FromResult(source));
        await ServedFromMemoryAsync(nodes.B, Key);
        using var metrics = new MetricRecorder();

        await using ConnectionMultiplexer admin = await ConnectionMultiplexer.ConnectAsync(server.Process.ConnectionString + ",allowAdmin=true");
        await admin.GetServer(admin.GetEndPoints()[0]).ExecuteAsync("CLIENT", "KILL", "TYPE", "pubsub");
        await Eventually.HoldsAsync(() => Task.FromResult(metrics["cacheinvalidation.local.flushes/disconnect"] >= 1));

        // Resubscribed by the client, confirmed again: serving from memory resumes, and the channel works again.
        await nodes.B.GetOrSetAsync(Key, _ => ValueTask.FromResult(source));
        await ServedFromMemoryAsync(nodes.B, Key);
        source = 2;
        await nodes.A.InvalidateKeyAsync(Key);
        await Eventually.HoldsAsync(async () => await nodes.B.GetOrSetAsync(Key, _ => ValueTask.FromResult(source)) == 2);
    }

    [Fact]
    public async Task Cache_disposed_after_the_application_disposed_its_connection_does_not_throw()
    {
        ConnectionMultiplexer connection = await ConnectionMultiplexer.ConnectAsync(server.Process.ConnectionString);
        SmartCache cache = TestCache.Create(connection, Configure);
        await cache.GetOrSetAsync(Key, _ => ValueTask.FromResult(1));
        await ServedFromMemoryAsync(cache, Key); // subscribed and confirmed

        await connection.DisposeAsync();

        Assert.Null(Record.Exception(cache.Dispose));
    }

    [Fact]
    public async Task Value_read_before_an_invalidation_never_enters_memory_after_it()
    {
        var hooks = new StoreHooks();
        var reached = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var nodes = await Nodes.StartAsync(server, Configure, hooksB: hooks);
        int source = 1;
        await nodes.A.GetOrSetAsync(Key, _ => ValueTask.FromResult(source)); // in Redis
        await nodes.B.ConfirmLocalAsync();
        hooks.After = async name =>
        {
            if (name == "Read")
            {
                reached.TrySetResult();
                await release.Task;
            }
        };

        Task<int> read = nodes.B.GetOrSetAsync(Key, _ => ValueTask.FromResult(source)).AsTask();
        await reached.Task; // B read the old value from Redis and holds it
        source = 2;
        await nodes.A.InvalidateKeyAsync(Key);
        await nodes.B.ConfirmLocalAsync();
        await nodes.B.ConfirmLocalAsync(); // B has applied the invalidation (by message or by flush)
        using var metrics = new MetricRecorder();
        hooks.After = static _ => Task.CompletedTask;
        release.SetResult();

        Assert.Equal(1, await read); // it began before the invalidation: returning the old value is fine ...
        Assert.Equal(1, metrics["cacheinvalidation.local.inserts.refused"]); // ... keeping it is not
        Assert.Equal(2, await nodes.B.GetOrSetAsync(Key, _ => ValueTask.FromResult(source)));
    }

    [Fact]
    public async Task Paused_redis_memory_is_served_only_inside_the_budget()
    {
        using RedisServerProcess paused = RedisServerProcess.Start();
        await using ConnectionMultiplexer connection = await ConnectionMultiplexer.ConnectAsync(paused.ConnectionString + ",abortConnect=false");
        using SmartCache cache = TestCache.Create(connection, o =>
        {
            TestCache.ProductionTimeouts(o); // past the budget, a read waits the soft timeout and goes to the source
            Configure(o);
        });
        int calls = 0;
        await cache.GetOrSetAsync(Key, _ => ValueTask.FromResult(Interlocked.Increment(ref calls)));
        await ServedFromMemoryAsync(cache, Key);
        using var metrics = new MetricRecorder();
        await cache.ConfirmLocalAsync(); // the whole budget is ahead, however late the last background confirmation ran

        long pausedAt = Stopwatch.GetTimestamp();
        paused.Pause();
        var served = new List<(double SincePauseMs, bool Local)>();
        try
        {
            while (Stopwatch.GetElapsedTime(pausedAt) < Budget * 3)
            {
                long before = metrics["cacheinvalidation.requests/local"];
                double sincePause = Stopwatch.GetElapsedTime(pausedAt).TotalMilliseconds;
                await cache.GetOrSetAsync(Key, _ => ValueTask.FromResult(Interlocked.Increment(ref calls)));
                served.Add((sincePause, metrics["cacheinvalidation.requests/local"] > before));
                await Task.Delay(20);
            }
        }
        finally
        {
            paused.Resume();
        }

        // Nothing was confirmed after the pause, so a read served from memory must have begun inside the budget.
        Assert.Contains(served, s => s.Local);
        Assert.DoesNotContain(served, s => s.Local && s.SincePauseMs > Budget.TotalMilliseconds);
        Assert.Contains(served, s => !s.Local && s.SincePauseMs > Budget.TotalMilliseconds);
    }

    private static void Configure(SmartCacheOptions options) =>
        options.Policies[DataClass.Important] = CachePolicy.Ttl(TimeSpan.FromMinutes(5)).WithStaleBudget(Budget);

    /// <summary>
    /// A budget no stall of a loaded machine exhausts (confirmations every second), for tests whose subject is not the
    /// budget: a late background confirmation must not send a counted read to Redis or make a slow message look lost.
    /// </summary>
    private static void ConfigureLongBudget(SmartCacheOptions options) =>
        options.Policies[DataClass.Important] = CachePolicy.Ttl(TimeSpan.FromMinutes(5)).WithStaleBudget(TimeSpan.FromMinutes(2));

    /// <summary>Reads until the entry is served from memory (the first read after a confirmation may still go to Redis).</summary>
    private static async Task ServedFromMemoryAsync(SmartCache cache, CacheKey key, CacheEntryOptions? options = null)
    {
        using var metrics = new MetricRecorder();
        await Eventually.HoldsAsync(async () =>
        {
            await cache.GetOrSetAsync(key, _ => ValueTask.FromResult(-1), options);
            return metrics["cacheinvalidation.requests/local"] > 0;
        });
    }


    private async Task<long> CommandCallsAsync(string command)
    {
        await using ConnectionMultiplexer admin = await ConnectionMultiplexer.ConnectAsync(server.Process.ConnectionString + ",allowAdmin=true");
        string stats = (await admin.GetServer(admin.GetEndPoints()[0]).InfoRawAsync("commandstats"))!;
        string line = stats.Split('\n').FirstOrDefault(l => l.StartsWith($"cmdstat_{command}:", StringComparison.Ordinal)) ?? "calls=0,";
        return long.Parse(line[(line.IndexOf("calls=", StringComparison.Ordinal) + 6)..line.IndexOf(',', StringComparison.Ordinal)], System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>Two application nodes on their own connections, sharing a key prefix.</summary>
    private sealed class Nodes : IAsyncDisposable
    {
        private readonly ConnectionMultiplexer[] _connections;

        private Nodes(ConnectionMultiplexer[] connections, SmartCache a, SmartCache b)
        {
            _connections = connections;
            A = a;
            B = b;
        }

        public SmartCache A { get; }

        public SmartCache B { get; }

        public static async Task<Nodes> StartAsync(Server server, Action<SmartCacheOptions> configure, StoreHooks? hooksB = null, Func<IInvalidationFeed, IInvalidationFeed>? feedB = null)
        {
            string prefix = "local" + Guid.NewGuid().ToString("N")[..8];
            ConnectionMultiplexer first = await ConnectionMultiplexer.ConnectAsync(server.Process.ConnectionString);
            ConnectionMultiplexer second = await ConnectionMultiplexer.ConnectAsync(server.Process.ConnectionString);
            void Options(SmartCacheOptions o)
            {
                configure(o);
                o.KeyPrefix = prefix;
            }

            SmartCache a = TestCache.Create(first, new StoreHooks(), Options);
            SmartCache b = TestCache.Create(second, hooksB ?? new StoreHooks(), Options, feed: feedB);
            return new Nodes([first, second], a, b);
        }

        public async ValueTask DisposeAsync()
        {
            A.Dispose();
            B.Dispose();
            foreach (ConnectionMultiplexer connection in _connections)
            {
                await connection.DisposeAsync();
            }
        }
    }

    /// <summary>A redis-server of this class's own: its pub/sub clients are killed on purpose.</summary>
    public sealed class Server : IDisposable
    {
        public RedisServerProcess Process { get; } = RedisServerProcess.Start();

        public void Dispose() => Process.Dispose();
    }
}
