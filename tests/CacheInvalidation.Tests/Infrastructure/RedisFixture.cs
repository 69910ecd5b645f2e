using System.Net;
using StackExchange.Redis;
using Testcontainers.Redis;

namespace CacheInvalidation.Tests.Infrastructure;

/// <summary>
/// A real Redis for the tests: <c>REDIS_URL</c> if set; else a Testcontainers Redis when a Docker engine answers; else
/// the <c>redis-server</c> binary on a free loopback port, stopped by its pid. There is no silent skip: without a
/// Redis every test that needs one fails with a message saying how to get one.
/// </summary>
public sealed class RedisFixture : IAsyncLifetime
{
    private RedisServerProcess? _server;
    private RedisContainer? _container;
    private ConnectionMultiplexer? _admin;

    /// <summary><c>host:port</c> of the Redis under test.</summary>
    public string ConnectionString { get; private set; } = string.Empty;

    /// <summary>A connection with admin commands allowed (INFO, CONFIG, FLUSHALL).</summary>
    public IConnectionMultiplexer Admin => _admin ?? throw new InvalidOperationException("The Redis fixture is not initialized.");

    public async Task InitializeAsync()
    {
        ConnectionString = Environment.GetEnvironmentVariable("REDIS_URL") is { Length: > 0 } url
            ? url
            : await StartContainerAsync() ?? StartServer();
        try
        {
            _admin = await ConnectionMultiplexer.ConnectAsync(ConnectionString + ",allowAdmin=true");
        }
        catch (RedisConnectionException e)
        {
            // Name the address (often a stale REDIS_URL) instead of the client's generic "not possible to connect".
            throw new InvalidOperationException($"Redis unavailable at {ConnectionString}: {e.Message}", e);
        }
    }

    public async Task DisposeAsync()
    {
        // The server first: it must be stopped even if the test host is torn down while connections close.
        _server?.Dispose();
        _admin?.Dispose();
        if (_container is not null)
        {
            await _container.DisposeAsync();
        }
    }

    public async Task ResetStatsAsync()
    {
        foreach (EndPoint endpoint in Admin.GetEndPoints())
        {
            await Admin.GetServer(endpoint).ConfigResetStatisticsAsync();
        }
    }

    /// <summary>Calls per command (<c>evalsha</c>, <c>get</c>, <c>config|resetstat</c>) summed over every endpoint, from INFO commandstats.</summary>
    public async Task<IReadOnlyDictionary<string, long>> CommandStatsAsync()
    {
        // Redis names commands in lowercase; ignoring case lets callers write "EVALSHA" too.
        var calls = new Dictionary<string, long>(StringComparer.OrdinalIgnoreCase);
        foreach (EndPoint endpoint in Admin.GetEndPoints())
        {
            foreach (IGrouping<string, KeyValuePair<string, string>> section in await Admin.GetServer(endpoint).InfoAsync("commandstats"))
            {
                foreach ((string name, string value) in section)
                {
                    // cmdstat_evalsha:calls=3,usec=...,usec_per_call=...
                    string command = name.StartsWith("cmdstat_", StringComparison.Ordinal) ? name["cmdstat_".Length..] : name;
                    string first = value.Split(',')[0];
                    if (first.StartsWith("calls=", StringComparison.Ordinal))
                    {
                        calls[command] = calls.GetValueOrDefault(command) + long.Parse(first["calls=".Length..], System.Globalization.CultureInfo.InvariantCulture);
                    }
                }
            }
        }

        return calls;
    }

    public async Task<long> CommandCallsAsync(string command) =>
        (await CommandStatsAsync()).GetValueOrDefault(command);

    private async Task<string?> StartContainerAsync()
    {
        // Only worth trying where a Docker engine can answer; without one Testcontainers would only time out.
        if (Environment.GetEnvironmentVariable("DOCKER_HOST") is not { Length: > 0 } && !File.Exists("/var/run/docker.sock"))
        {
            return null;
        }

        RedisContainer? container = null;
        try
        {
            container = new RedisBuilder("redis:7.0").Build();
            // Bounded (image pull included) so an engine that accepts but never answers cannot hang the run.
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            await container.StartAsync(timeout.Token);
            _container = container;
            return container.GetConnectionString();
        }
#pragma warning disable CA1031 // Any failure here means "no usable engine": fall back to the binary.
        catch (Exception)
        {
            try
            {
                if (container is not null)
                {
                    await container.DisposeAsync();
                }
            }
            catch (Exception)
            {
                // Best effort: an engine that failed to start it may not remove it either (Ryuk reaps it then).
            }

            return null;
        }
#pragma warning restore CA1031
    }

    private string StartServer()
    {
        _server = RedisServerProcess.Start();
        return _server.ConnectionString;
    }
}
