using StackExchange.Redis;

namespace CacheInvalidation.Client;

/// <summary>
/// Keyspace-wide operations: SCAN on every primary, UNLINK in batches grouped by hash slot, server configuration
/// (CONFIG GET/SET) and the audit stream.
/// </summary>
internal sealed class RedisKeyspace(RedisConnection connection) : IKeyspace
{
    /// <summary>
    /// Scans every connected primary for keys matching <paramref name="pattern"/>, <paramref name="pageSize"/> at a time,
    /// and hands each page to <paramref name="onBatch"/>, which returns how many keys it removed. The pattern narrows the
    /// scan; what to do with each key is the caller's exact rule.
    /// </summary>
    /// <returns>The keys scanned and the sum of what <paramref name="onBatch"/> returned.</returns>
    public async Task<(long Scanned, long Removed)> ScanAsync(
        string pattern,
        int pageSize,
        Func<IReadOnlyList<string>, long, long, CancellationToken, Task<long>> onBatch,
        CancellationToken cancellationToken)
    {
        IConnectionMultiplexer multiplexer = await connection.GetAsync().ConfigureAwait(false);
        long scanned = 0, removed = 0;

        // A slot migration or failover during a pass can move keys behind the scan; the pass is repeated (it then
        // only finds what is left) until the cluster's slot map held still, at most three times.
        for (int pass = 0; pass < 3; pass++)
        {
            string before = SlotMap(multiplexer);
            (long passScanned, long passRemoved) = await ScanPassAsync(multiplexer, pattern, pageSize, scanned, removed, onBatch, cancellationToken).ConfigureAwait(false);
            scanned += passScanned;
            removed += passRemoved;
            if (SlotMap(multiplexer) == before)
            {
                break;
            }
        }

        return (scanned, removed);
    }

    /// <summary>Unlinks keys, one script per hash slot on a cluster (pipelined); returns how many existed.</summary>
    public Task<long> UnlinkAsync(IReadOnlyList<string> keys, CancellationToken cancellationToken) =>
        connection.EvaluatePerSlotAsync(connection.Resilience.Operations, LuaScripts.Unlink, keys, static key => [key], cancellationToken);

    /// <summary>
    /// The primaries and their slots as the client currently sees them (refreshed by StackExchange.Redis on MOVED and
    /// on reconfiguration, without needing admin rights), as a string to compare; empty on a standalone server.
    /// </summary>
    private static string SlotMap(IConnectionMultiplexer multiplexer)
    {
        ClusterConfiguration? nodes = multiplexer.GetEndPoints().Select(e => multiplexer.GetServer(e))
            .FirstOrDefault(s => s.IsConnected && !s.IsReplica && s.ServerType == ServerType.Cluster)?.ClusterConfiguration;
        return nodes is null
            ? string.Empty
            : string.Join(';', nodes.Nodes.Where(n => !n.IsReplica).Select(n => $"{n.EndPoint}={string.Join(',', n.Slots)}").Order(StringComparer.Ordinal));
    }

    private static async Task<(long Scanned, long Removed)> ScanPassAsync(
        IConnectionMultiplexer multiplexer,
        string pattern,
        int pageSize,
        long scannedBefore,
        long removedBefore,
        Func<IReadOnlyList<string>, long, long, CancellationToken, Task<long>> onBatch,
        CancellationToken cancellationToken)
    {
        IDatabase database = multiplexer.GetDatabase();
        long scanned = 0, removed = 0;
        var covered = new List<string>();
        string current = "(none)";
        try
        {
            foreach (var endpoint in multiplexer.GetEndPoints())
            {
                IServer server = multiplexer.GetServer(endpoint);
                if (server.IsReplica)
                {
                    continue;
                }

                current = endpoint.ToString() ?? "?";
                var batch = new List<string>(pageSize);
                await foreach (RedisKey key in server.KeysAsync(database.Database, pattern, pageSize: pageSize).WithCancellation(cancellationToken).ConfigureAwait(false))
                {
                    scanned++;
                    batch.Add(key!);
                    if (batch.Count == pageSize)
                    {
                        removed += await onBatch(batch, scannedBefore + scanned, removedBefore + removed, cancellationToken).ConfigureAwait(false);
                        batch.Clear();
                    }
                }

                if (batch.Count > 0)
                {
                    removed += await onBatch(batch, scannedBefore + scanned, removedBefore + removed, cancellationToken).ConfigureAwait(false);
                }

                covered.Add(current);
            }
        }
        catch (Exception ex) when (ex is CacheStoreException || (RedisCall.IsStoreFailure(ex) && !cancellationToken.IsCancellationRequested))
        {
            throw new CacheStoreException(
                $"Scanning for '{pattern}' failed on {current} after {scannedBefore + scanned} keys scanned and {removedBefore + removed} removed; " +
                $"primaries fully covered: [{string.Join(", ", covered)}]. Call again to finish: a new scan only finds what is left. ({ex.Message})",
                ex);
        }

        return (scanned, removed);
    }

    /// <summary>CONFIG GET of each parameter on the first primary; null when CONFIG is disabled, renamed or not allowed.</summary>
    public async Task<IReadOnlyDictionary<string, string>?> GetConfigAsync(IEnumerable<string> parameters)
    {
        IServer? server = await PrimaryAsync().ConfigureAwait(false);
        if (server is null)
        {
            return null;
        }

        try
        {
            var values = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
            foreach (string parameter in parameters)
            {
                foreach (KeyValuePair<string, string> pair in await server.ConfigGetAsync(parameter).ConfigureAwait(false))
                {
                    values[pair.Key] = pair.Value;
                }
            }

            return values;
        }
        catch (Exception ex) when (RedisCall.IsStoreFailure(ex))
        {
            return null;
        }
    }

    /// <summary>CONFIG SET on every primary; returns the error message, or null on success.</summary>
    public async Task<string?> SetConfigAsync(string parameter, string value)
    {
        IConnectionMultiplexer multiplexer = await connection.GetAsync().ConfigureAwait(false);
        try
        {
            foreach (var endpoint in multiplexer.GetEndPoints())
            {
                IServer server = multiplexer.GetServer(endpoint);
                if (!server.IsReplica)
                {
                    await server.ConfigSetAsync(parameter, value).ConfigureAwait(false);
                }
            }

            return null;
        }
        catch (Exception ex) when (RedisCall.IsStoreFailure(ex))
        {
            return ex.Message;
        }
    }

    /// <summary>Appends a record to a capped stream; returns its id.</summary>
    public async Task<string> AppendToStreamAsync(string stream, IReadOnlyList<KeyValuePair<string, string>> fields, int maxLength)
    {
        IConnectionMultiplexer multiplexer = await connection.GetAsync().ConfigureAwait(false);
        try
        {
            NameValueEntry[] entries = fields.Select(f => new NameValueEntry(f.Key, f.Value)).ToArray();
            RedisValue id = await multiplexer.GetDatabase().StreamAddAsync(stream, entries, maxLength: maxLength, useApproximateMaxLength: true).ConfigureAwait(false);
            return id.ToString();
        }
        catch (Exception ex) when (RedisCall.IsStoreFailure(ex))
        {
            throw new CacheStoreException($"Appending to '{stream}' failed: {ex.Message}", ex);
        }
    }

    private async Task<IServer?> PrimaryAsync()
    {
        IConnectionMultiplexer multiplexer = await connection.GetAsync().ConfigureAwait(false);
        return multiplexer.GetEndPoints().Select(e => multiplexer.GetServer(e)).FirstOrDefault(s => !s.IsReplica && s.IsConnected);
    }
}
