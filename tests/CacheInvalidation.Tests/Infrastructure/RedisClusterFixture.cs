using System.Diagnostics;
using System.Globalization;
using StackExchange.Redis;

namespace CacheInvalidation.Tests.Infrastructure;

/// <summary>
/// A real Redis Cluster on loopback: 3 primaries and 3 replicas, each a <c>redis-server --cluster-enabled yes</c>
/// process started here, joined with <c>redis-cli --cluster create</c>, and stopped by pid. Failing to build it fails
/// the tests that need it (in CI as anywhere).
/// </summary>
public class RedisClusterFixture : IAsyncLifetime
{
    private readonly List<RedisServerProcess> _nodes = [];
    private readonly string _directory = Path.Combine(Path.GetTempPath(), $"cluster-{Guid.NewGuid():N}");
    private ConnectionMultiplexer? _admin;

    /// <summary>Every node's endpoint, comma-separated, for StackExchange.Redis.</summary>
    public string ConnectionString { get; private set; } = string.Empty;

    public IConnectionMultiplexer Admin => _admin ?? throw new InvalidOperationException("The cluster fixture is not initialized.");

    public IReadOnlyList<RedisServerProcess> Nodes => _nodes;

    public async Task InitializeAsync()
    {
        for (int i = 0; i < 6; i++)
        {
            string dir = Path.Combine(_directory, i.ToString(CultureInfo.InvariantCulture));
            Directory.CreateDirectory(dir);
            // Validity factor 0: a replica may always take over, however long its link was down (tests kill primaries
            // soon after the cluster is built).
            _nodes.Add(RedisServerProcess.Start("--cluster-enabled", "yes", "--cluster-node-timeout", "2000", "--cluster-replica-validity-factor", "0", "--dir", dir));
        }

        var create = new ProcessStartInfo("redis-cli") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        create.ArgumentList.Add("--cluster");
        create.ArgumentList.Add("create");
        foreach (RedisServerProcess node in _nodes)
        {
            create.ArgumentList.Add(node.ConnectionString);
        }

        create.ArgumentList.Add("--cluster-replicas");
        create.ArgumentList.Add("1");
        create.ArgumentList.Add("--cluster-yes");
        using (Process process = Process.Start(create) ?? throw new InvalidOperationException("redis-cli did not start; install redis-tools."))
        {
            string output = await process.StandardOutput.ReadToEndAsync();
            await process.WaitForExitAsync();
            if (process.ExitCode != 0)
            {
                throw new InvalidOperationException("redis-cli --cluster create failed: " + output + await process.StandardError.ReadToEndAsync());
            }
        }

        ConnectionString = string.Join(',', _nodes.Select(n => n.ConnectionString));
        await WaitUntilHealthyAsync(TimeSpan.FromSeconds(30), replicasInSync: true);
        _admin = await ConnectionMultiplexer.ConnectAsync(ConnectionString + ",allowAdmin=true");
    }

    /// <summary>Waits until every live node reports cluster_state:ok, three primaries serve all slots and, if asked, every replica's link is up.</summary>
    public async Task WaitUntilHealthyAsync(TimeSpan timeout, bool replicasInSync = false)
    {
        DateTime deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            try
            {
                await using ConnectionMultiplexer probe = await ConnectionMultiplexer.ConnectAsync(ConnectionString + ",allowAdmin=true,abortConnect=false,connectTimeout=1000");
                var servers = probe.GetEndPoints().Select(e => probe.GetServer(e)).Where(s => s.IsConnected).ToList();
                bool ok = servers.Count > 0;
                foreach (IServer server in servers)
                {
                    string info = (string)(await server.ExecuteAsync("CLUSTER", "INFO"))!;
                    ok &= info.Contains("cluster_state:ok", StringComparison.Ordinal);
                    if (replicasInSync && server.IsReplica)
                    {
                        string replication = (string)(await server.ExecuteAsync("INFO", "replication"))!;
                        ok &= replication.Contains("master_link_status:up", StringComparison.Ordinal);
                    }
                }

                if (ok && servers.Count(s => !s.IsReplica) == 3)
                {
                    return;
                }
            }
            catch (RedisException)
            {
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new InvalidOperationException("The cluster did not become healthy in time.");
            }

            await Task.Delay(200);
        }
    }

    /// <summary>The commands each node executed, summed over the cluster (INFO commandstats).</summary>
    public async Task<long> CommandCallsAsync(string command)
    {
        long calls = 0;
        foreach (var endpoint in Admin.GetEndPoints())
        {
            IServer server = Admin.GetServer(endpoint);
            if (!server.IsConnected)
            {
                continue;
            }

            foreach (var section in await server.InfoAsync("commandstats"))
            {
                foreach (var pair in section.Where(p => p.Key == "cmdstat_" + command))
                {
                    calls += long.Parse(pair.Value.Split(',')[0]["calls=".Length..], CultureInfo.InvariantCulture);
                }
            }
        }

        return calls;
    }

    public async Task ResetStatsAsync()
    {
        foreach (var endpoint in Admin.GetEndPoints())
        {
            IServer server = Admin.GetServer(endpoint);
            if (server.IsConnected)
            {
                await server.ConfigResetStatisticsAsync();
            }
        }
    }

    public async Task DisposeAsync()
    {
        // Servers first: they must be stopped even if the test host is torn down while connections close.
        foreach (RedisServerProcess node in _nodes)
        {
            node.Dispose();
        }

        if (_admin is not null)
        {
            _admin.Dispose();
        }

        await Task.CompletedTask;

        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

[CollectionDefinition(Name)]
public sealed class RedisClusterCollection : ICollectionFixture<RedisClusterFixture>
{
    public const string Name = "redis-cluster";
}
