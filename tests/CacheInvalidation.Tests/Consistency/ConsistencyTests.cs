using CacheInvalidation.Client;
using CacheInvalidation.Policy;
using CacheInvalidation.Tests.Infrastructure;
using CacheInvalidation.Tests.Integration;
using StackExchange.Redis;
using Xunit.Abstractions;

namespace CacheInvalidation.Tests.Consistency;

/// <summary>
/// The no-stale-set claim for every invalidation kind, checked on a recorded history against a private redis-server,
/// with two application nodes (two connections): the naive cache-aside must be caught, SmartCache must leave no stale
/// entry and no read past the budget.
/// </summary>
public sealed class ConsistencyTests(ConsistencyTests.Server server, ITestOutputHelper output) : IClassFixture<ConsistencyTests.Server>
{
    internal static readonly TimeSpan Budget = TimeSpan.FromSeconds(1);

    public static TheoryData<InvalidationKind> Kinds => new(Enum.GetValues<InvalidationKind>());

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task Naive_cache_aside_is_caught_leaving_stale_entries(InvalidationKind kind)
    {
        await using ConnectionMultiplexer first = await ConnectionMultiplexer.ConnectAsync(server.Process.ConnectionString);
        await using ConnectionMultiplexer second = await ConnectionMultiplexer.ConnectAsync(server.Process.ConnectionString);
        ConsistencyReport report = await RunNaiveAsync(first, second, kind);
        output.WriteLine(report.Row("naive cache-aside", kind.ToString(), "single"));

        Assert.True(report.StaleAfterAfter > 0, $"the checker should catch the naive cache's stale sets: {report}");
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task SmartCache_leaves_no_stale_entry_and_no_read_out_of_budget(InvalidationKind kind)
    {
        await using ConnectionMultiplexer first = await ConnectionMultiplexer.ConnectAsync(server.Process.ConnectionString);
        await using ConnectionMultiplexer second = await ConnectionMultiplexer.ConnectAsync(server.Process.ConnectionString);
        using var metrics = new MetricRecorder();
        ConsistencyReport report = await RunSmartAsync(first, second, kind);
        output.WriteLine(report.Row("SmartCache", kind.ToString(), "single") + $" refused writes: {metrics["cacheinvalidation.writes/refused"]}");

        Assert.True(report.Reads >= Reads);
        Assert.Equal(0, report.StaleEntries);
        Assert.Equal(0, report.OutOfBudgetStaleReads);
        if (kind != InvalidationKind.Set)
        {
            // Every race forced after the invalidation ends in a refused write (a direct set may instead be overwritten).
            Assert.True(metrics["cacheinvalidation.writes/refused"] >= Entities, $"refused: {metrics["cacheinvalidation.writes/refused"]}");
        }
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task Local_tier_keeps_reads_inside_the_budget_when_messages_are_lost_and_subscribers_killed(InvalidationKind kind)
    {
        await using ConnectionMultiplexer first = await ConnectionMultiplexer.ConnectAsync(server.Process.ConnectionString);
        await using ConnectionMultiplexer second = await ConnectionMultiplexer.ConnectAsync(server.Process.ConnectionString);
        await using ConnectionMultiplexer admin = await ConnectionMultiplexer.ConnectAsync(server.Process.ConnectionString + ",allowAdmin=true");
        using var metrics = new MetricRecorder();
        (ConsistencyReport report, long dropped) = await RunSmartWithLocalFaultsAsync(first, second, admin, kind);
        output.WriteLine(report.Row("SmartCache + local, faults", kind.ToString(), "single") + LocalFigures(metrics, dropped));

        AssertLocalFaultRun(report, metrics, dropped);
    }

    internal const int Entities = 20;

    internal static string LocalFigures(MetricRecorder metrics, long dropped) =>
        $" local reads: {metrics["cacheinvalidation.requests/local"]}, messages dropped: {dropped}, gaps: {metrics["cacheinvalidation.local.gaps"]}, " +
        $"flushes gap/disconnect: {metrics["cacheinvalidation.local.flushes/gap"]}/{metrics["cacheinvalidation.local.flushes/disconnect"]}";

    internal static void AssertLocalFaultRun(ConsistencyReport report, MetricRecorder metrics, long dropped)
    {
        Assert.True(report.Reads >= Reads);
        Assert.Equal(0, report.StaleEntries);
        Assert.Equal(0, report.OutOfBudgetStaleReads);

        // The faults happened and the tier was in use: this run could have failed.
        Assert.True(metrics["cacheinvalidation.requests/local"] > 0, "no read was served from memory");
        Assert.True(dropped > 0, "no message was dropped");
        Assert.True(metrics["cacheinvalidation.local.flushes/disconnect"] > 0, "no subscriber connection was killed");
    }

    /// <summary>
    /// The checker with the local tier on both nodes, 30% of the invalidation messages each receives dropped, and every
    /// pub/sub connection killed (<c>CLIENT KILL TYPE pubsub</c> on every primary) every 30 ms. Returns the report and how
    /// many messages were dropped.
    /// </summary>
    internal static async Task<(ConsistencyReport Report, long Dropped)> RunSmartWithLocalFaultsAsync(
        IConnectionMultiplexer first, IConnectionMultiplexer second, IConnectionMultiplexer admin, InvalidationKind kind)
    {
        string prefix = "local" + Guid.NewGuid().ToString("N")[..8];
        void Configure(SmartCacheOptions o)
        {
            o.KeyPrefix = prefix;
            o.Tenant = "checked";
            o.Policies[DataClass.Important] = CachePolicy.Ttl(TimeSpan.FromMinutes(10)).WithStaleBudget(Budget);
        }

        var feeds = new List<DroppingFeed>();
        IInvalidationFeed Drop(IInvalidationFeed feed)
        {
            var dropping = new DroppingFeed(feed, seed: feeds.Count + (int)kind) { DropRate = 0.3 };
            feeds.Add(dropping);
            return dropping;
        }

        using SmartCache nodeA = TestCache.Create(first, new StoreHooks(), Configure, feed: Drop);
        using SmartCache nodeB = TestCache.Create(second, new StoreHooks(), Configure, feed: Drop);
        var options = new SmartCacheOptions();
        Configure(options);
        var adminA = new SmartCacheAdministration(options, RedisConnection.FromExisting(first), null, null);
        var adminB = new SmartCacheAdministration(options, RedisConnection.FromExisting(second), null, null);
        using var stop = new CancellationTokenSource();
        Task killing = KillSubscribersAsync(admin, stop.Token);
        try
        {
            // Reads from memory are quick: three times the reads keep the run long enough for several kills.
            ConsistencyReport report = await Checker(kind, Reads * 3).RunAsync(
                [new SmartCacheUnderTest(nodeA, adminA, options.Tenant, kind), new SmartCacheUnderTest(nodeB, adminB, options.Tenant, kind)],
                Budget);
            return (report, feeds.Sum(f => f.Dropped));
        }
        finally
        {
            await stop.CancelAsync();
            await killing;
        }
    }

    private static async Task KillSubscribersAsync(IConnectionMultiplexer admin, CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(30, stop);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            foreach (System.Net.EndPoint endpoint in admin.GetEndPoints())
            {
                IServer server = admin.GetServer(endpoint);
                if (server.IsConnected && !server.IsReplica)
                {
                    await server.ExecuteAsync("CLIENT", "KILL", "TYPE", "pubsub");
                }
            }
        }
    }

    /// <summary>Reads of the random phase per run: 4,000 by default; <c>CHECKER_READS</c> sets more for a longer run.</summary>
    internal static readonly int Reads = int.TryParse(Environment.GetEnvironmentVariable("CHECKER_READS"), out int reads) && reads > 0 ? reads : 4_000;

    internal static Task<ConsistencyReport> RunNaiveAsync(IConnectionMultiplexer first, IConnectionMultiplexer second, InvalidationKind kind)
    {
        string prefix = "naive" + Guid.NewGuid().ToString("N")[..8];
        ICacheUnderTest[] nodes = [new NaiveCacheAside(first, prefix, kind), new NaiveCacheAside(second, prefix, kind)];
        return Checker(kind).RunAsync(nodes, Budget);
    }

    internal static async Task<ConsistencyReport> RunSmartAsync(IConnectionMultiplexer first, IConnectionMultiplexer second, InvalidationKind kind)
    {
        string prefix = "smart" + Guid.NewGuid().ToString("N")[..8];
        void Configure(SmartCacheOptions o)
        {
            o.KeyPrefix = prefix;
            o.Tenant = "checked";
            o.Policies[DataClass.Important] = CachePolicy.Ttl(TimeSpan.FromMinutes(10)).WithStaleBudget(Budget);
        }

        using SmartCache nodeA = TestCache.Create(first, Configure);
        using SmartCache nodeB = TestCache.Create(second, Configure);
        var options = new SmartCacheOptions();
        Configure(options);
        var adminA = new SmartCacheAdministration(options, RedisConnection.FromExisting(first), null, null);
        var adminB = new SmartCacheAdministration(options, RedisConnection.FromExisting(second), null, null);
        return await Checker(kind).RunAsync(
            [new SmartCacheUnderTest(nodeA, adminA, options.Tenant, kind), new SmartCacheUnderTest(nodeB, adminB, options.Tenant, kind)],
            Budget);
    }

    // Whole-tenant purges scan the keyspace on every call: fewer writers keep their share of the run reasonable.
    private static ConsistencyChecker Checker(InvalidationKind kind, int? reads = null) =>
        new(entities: Entities, readers: 8, writers: kind is InvalidationKind.TenantPurge or InvalidationKind.AllTenantsPurge ? 1 : 2, reads: reads ?? Reads, seed: 42 + (int)kind);

    /// <summary>A redis-server of the checker's own, so its scans and counters see only its keys.</summary>
    public sealed class Server : IDisposable
    {
        public RedisServerProcess Process { get; } = RedisServerProcess.Start();

        public void Dispose() => Process.Dispose();
    }
}
