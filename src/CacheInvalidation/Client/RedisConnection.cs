using StackExchange.Redis;

namespace CacheInvalidation.Client;

/// <summary>
/// The one connection multiplexer of a cache, connected lazily and thread-safely on first use. It is created with
/// <c>abortConnect=false</c>, so an unreachable server at start-up yields failing commands (that the cache degrades on),
/// not a crashed application, and the multiplexer keeps reconnecting in the background.
/// </summary>
internal sealed class RedisConnection : IDisposable
{
    private readonly Func<Task<IConnectionMultiplexer>> _connect;
    private readonly bool _ownsMultiplexer;
    private readonly object _gate = new();
    private Task<IConnectionMultiplexer>? _connection;
    private Task<IConnectionMultiplexer?>? _replicated;
    private bool? _isCluster;
    private IInvalidationListener? _listener;

    private RedisConnection(Func<Task<IConnectionMultiplexer>> connect, bool ownsMultiplexer, StoreResilience? resilience)
    {
        _connect = connect;
        _ownsMultiplexer = ownsMultiplexer;
        Resilience = resilience ?? new StoreResilience(new CacheResilienceOptions());
    }

    /// <summary>Told about the invalidations run on this connection (the node's local tier); null when there is none.</summary>
    public IInvalidationListener? Listener
    {
        get => Volatile.Read(ref _listener);
        set => Volatile.Write(ref _listener, value);
    }

    /// <summary>The circuit breaker and timeouts every call on this connection goes through.</summary>
    public StoreResilience Resilience { get; }

    /// <summary>A connection the cache creates from a configuration string, and disposes.</summary>
    public static RedisConnection FromConfiguration(string configuration, StoreResilience? resilience = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(configuration);
        ConfigurationOptions options = ConfigurationOptions.Parse(configuration);
        options.AbortOnConnectFail = false;
        return new RedisConnection(async () => await ConnectionMultiplexer.ConnectAsync(options).ConfigureAwait(false), ownsMultiplexer: true, resilience);
    }

    /// <summary>A connection the application owns.</summary>
    public static RedisConnection FromExisting(IConnectionMultiplexer multiplexer, StoreResilience? resilience = null)
    {
        ArgumentNullException.ThrowIfNull(multiplexer);
        return new RedisConnection(() => Task.FromResult(multiplexer), ownsMultiplexer: false, resilience);
    }

    public ValueTask<IConnectionMultiplexer> GetAsync()
    {
        Task<IConnectionMultiplexer>? connection = _connection;
        return connection is { IsCompletedSuccessfully: true }
            ? new ValueTask<IConnectionMultiplexer>(connection.Result)
            : new ValueTask<IConnectionMultiplexer>(ConnectAsync());
    }

    /// <summary>Whether the server is a Redis Cluster (multi-key work must then be grouped by hash slot); known once a node answered.</summary>
    public bool IsCluster(IConnectionMultiplexer multiplexer)
    {
        if (_isCluster is { } known)
        {
            return known;
        }

        IServer[] connected = multiplexer.GetEndPoints().Select(e => multiplexer.GetServer(e)).Where(s => s.IsConnected).ToArray();
        bool cluster = connected.Any(s => s.ServerType == ServerType.Cluster);
        if (connected.Length > 0)
        {
            _isCluster = cluster;
        }

        return cluster;
    }

    /// <summary>
    /// Runs <paramref name="script"/> once per hash slot of <paramref name="items"/> on a cluster (once on a standalone
    /// server), pipelined, with the keys <paramref name="keysOf"/> gives for each item; returns the sum of the results.
    /// </summary>
    public async Task<long> EvaluatePerSlotAsync(StoreLane lane, RedisScript script, IReadOnlyList<string> items, Func<string, IEnumerable<RedisKey>> keysOf, CancellationToken cancellationToken)
    {
        var results = await EvaluatePerSlotAsync(lane, script, items, static item => item, group => (group.SelectMany(keysOf).ToArray(), []), cancellationToken).ConfigureAwait(false);
        return results.Sum(r => (long)r.Result);
    }

    /// <summary>
    /// Runs <paramref name="script"/> once per hash slot of <paramref name="items"/> (their keys by <paramref name="keyOf"/>)
    /// on a cluster, once for all on a standalone server, pipelined; <paramref name="call"/> gives a group's KEYS and ARGV.
    /// Returns each group with its script's result.
    /// </summary>
    public async Task<(T[] Group, RedisResult Result)[]> EvaluatePerSlotAsync<T>(
        StoreLane lane, RedisScript script, IReadOnlyList<T> items, Func<T, string> keyOf, Func<T[], (RedisKey[] Keys, RedisValue[] Arguments)> call, CancellationToken cancellationToken)
    {
        if (items.Count == 0)
        {
            return [];
        }

        IConnectionMultiplexer multiplexer = await GetAsync().ConfigureAwait(false);
        IDatabase database = multiplexer.GetDatabase();
        T[][] groups = RedisCall.BySlot(multiplexer, IsCluster(multiplexer), items, keyOf).ToArray();
        RedisResult[] results = await lane.RunAsync(
            () => Task.WhenAll(groups.Select(group =>
            {
                (RedisKey[] keys, RedisValue[] arguments) = call(group);
                return script.EvaluateAsync(database, keys, arguments);
            })),
            cancellationToken).ConfigureAwait(false);
        return groups.Zip(results).ToArray();
    }

    /// <summary>
    /// Pings every primary (the one server, or each primary of a cluster) within <paramref name="timeout"/>: the slowest
    /// answer, or the first endpoint that did not answer and why.
    /// </summary>
    public async Task<(TimeSpan Slowest, string? Failure)> PingPrimariesAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        IConnectionMultiplexer multiplexer;
        try
        {
            multiplexer = await GetAsync().AsTask().WaitAsync(timeout, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested && (RedisCall.IsStoreFailure(ex) || ex is TimeoutException))
        {
            return (TimeSpan.Zero, "cannot connect: " + ex.Message);
        }

        IServer[] primaries = multiplexer.GetServers().Where(s => !s.IsReplica).ToArray();
        if (primaries.Length == 0)
        {
            return (TimeSpan.Zero, "no primary is connected");
        }

        TimeSpan slowest = TimeSpan.Zero;
        foreach (IServer server in primaries)
        {
            try
            {
                TimeSpan latency = await server.PingAsync().WaitAsync(timeout, cancellationToken).ConfigureAwait(false);
                slowest = latency > slowest ? latency : slowest;
            }
            catch (Exception ex) when (!cancellationToken.IsCancellationRequested && (RedisCall.IsStoreFailure(ex) || ex is TimeoutException))
            {
                return (slowest, $"{server.EndPoint} did not answer: {ex.Message}");
            }
        }

        return (slowest, null);
    }

    /// <summary>
    /// A second connection, for writes followed by <c>WAIT</c> (version bumps on a cluster): WAIT blocks the connection it
    /// runs on until the replicas caught up, so it must not be the one every other command shares. Null when it cannot be
    /// opened (the bumps then go on the shared connection, without WAIT).
    /// </summary>
    public Task<IConnectionMultiplexer?> GetReplicatedAsync()
    {
        lock (_gate)
        {
            if (_replicated is null || _replicated.IsFaulted || _replicated is { IsCompletedSuccessfully: true, Result: null })
            {
                _replicated = ConnectReplicatedAsync();
            }

            return _replicated;
        }
    }

    private async Task<IConnectionMultiplexer?> ConnectReplicatedAsync()
    {
        IConnectionMultiplexer shared = await GetAsync().ConfigureAwait(false);
        ConfigurationOptions options = ConfigurationOptions.Parse(shared.Configuration);
        options.AbortOnConnectFail = false;
        options.ClientName = (options.ClientName ?? "CacheInvalidation") + ":replicated";
        ConnectionMultiplexer replicated = await ConnectionMultiplexer.ConnectAsync(options).ConfigureAwait(false);
        if (replicated.IsConnected)
        {
            return replicated;
        }

        await replicated.DisposeAsync().ConfigureAwait(false);
        return null;
    }

    public void Dispose()
    {
        Task<IConnectionMultiplexer?>? replicated = _replicated;
        if (replicated is { IsCompletedSuccessfully: true, Result: { } second })
        {
            second.Dispose();
        }

        Task<IConnectionMultiplexer>? connection = _connection;
        if (_ownsMultiplexer && connection is { IsCompletedSuccessfully: true })
        {
            connection.Result.Dispose();
        }
    }

    private async Task<IConnectionMultiplexer> ConnectAsync()
    {
        Task<IConnectionMultiplexer> connection;
        lock (_gate)
        {
            if (_connection is null || _connection.IsFaulted || _connection.IsCanceled)
            {
                _connection = _connect();
            }

            connection = _connection;
        }

        try
        {
            return await connection.ConfigureAwait(false);
        }
        catch (Exception ex) when (RedisCall.IsStoreFailure(ex))
        {
            throw new CacheStoreException("Could not connect to Redis: " + ex.Message, ex);
        }
    }
}
