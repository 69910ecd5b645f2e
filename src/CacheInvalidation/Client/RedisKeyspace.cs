using StackExchange.Redis;

namespace CacheInvalidation.Client;

/// <summary>
/// Keyspace-wide operations: SCAN on every primary with UNLINK in batches grouped by hash slot, server configuration
/// (CONFIG GET/SET) and the audit stream.
/// </summary>
internal sealed class RedisKeyspace(RedisConnection connection)
{
    private static readonly RedisScript Unlink = new("return redis.call('UNLINK', unpack(KEYS))");

    /// <summary>
    /// Scans every connected primary for keys matching <paramref name="pattern"/> and unlinks them, except those ending
    /// with <paramref name="keepSuffix"/>, in batches of at most <paramref name="batchSize"/>; <paramref name="afterBatch"/>
    /// runs after each batch (progress, rate limit).
    /// </summary>
    public async Task<(long Scanned, long Deleted)> ScanAndUnlinkAsync(
        string pattern,
        string? keepSuffix,
        int batchSize,
        Func<long, long, CancellationToken, Task> afterBatch,
        CancellationToken cancellationToken)
    {
        IConnectionMultiplexer multiplexer = await connection.GetAsync().ConfigureAwait(false);
        long scanned = 0, deleted = 0;

        // A slot migration or failover during a pass can move keys behind the scan; the pass is repeated (it then
        // only finds what is left) until the cluster's slot map held still, at most three times.
        for (int pass = 0; pass < 3; pass++)
        {
            string before = await SlotMapAsync(multiplexer).ConfigureAwait(false);
            (long passScanned, long passDeleted) = await ScanPassAsync(multiplexer, pattern, keepSuffix, batchSize, scanned, deleted, afterBatch, cancellationToken).ConfigureAwait(false);
            scanned += passScanned;
            deleted += passDeleted;
            if (await SlotMapAsync(multiplexer).ConfigureAwait(false) == before)
            {
                break;
            }
        }

        return (scanned, deleted);
    }

    /// <summary>
    /// The primaries and their slots as the client currently sees them (refreshed by StackExchange.Redis on MOVED and
    /// on reconfiguration, without needing admin rights), as a string to compare; empty on a standalone server.
    /// </summary>
    private static Task<string> SlotMapAsync(IConnectionMultiplexer multiplexer)
    {
        ClusterConfiguration? nodes = multiplexer.GetEndPoints().Select(e => multiplexer.GetServer(e))
            .FirstOrDefault(s => s.IsConnected && !s.IsReplica && s.ServerType == ServerType.Cluster)?.ClusterConfiguration;
        return Task.FromResult(nodes is null
            ? string.Empty
            : string.Join(';', nodes.Nodes.Where(n => !n.IsReplica).Select(n => $"{n.EndPoint}={string.Join(',', n.Slots)}").Order(StringComparer.Ordinal)));
    }

    private static async Task<(long Scanned, long Deleted)> ScanPassAsync(
        IConnectionMultiplexer multiplexer,
        string pattern,
        string? keepSuffix,
        int batchSize,
        long scannedBefore,
        long deletedBefore,
        Func<long, long, CancellationToken, Task> afterBatch,
        CancellationToken cancellationToken)
    {
        IDatabase database = multiplexer.GetDatabase();
        long scanned = 0, deleted = 0;
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

                var batch = new List<RedisKey>(batchSize);
                await foreach (RedisKey key in server.KeysAsync(database.Database, pattern, pageSize: batchSize).WithCancellation(cancellationToken).ConfigureAwait(false))
                {
                    scanned++;
                    if (keepSuffix is not null && ((string)key!).EndsWith(keepSuffix, StringComparison.Ordinal))
                    {
                        continue;
                    }

                    batch.Add(key);
                    if (batch.Count == batchSize)
                    {
                        deleted += await UnlinkAsync(multiplexer, database, batch).ConfigureAwait(false);
                        batch.Clear();
                        await afterBatch(scannedBefore + scanned, deletedBefore + deleted, cancellationToken).ConfigureAwait(false);
                    }
                }

                if (batch.Count > 0)
                {
                    deleted += await UnlinkAsync(multiplexer, database, batch).ConfigureAwait(false);
                    await afterBatch(scannedBefore + scanned, deletedBefore + deleted, cancellationToken).ConfigureAwait(false);
                }

                covered.Add(current);
            }
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            throw new CacheStoreException(
                $"Scanning for '{pattern}' failed on {current} after {scannedBefore + scanned} keys scanned and {deletedBefore + deleted} deleted; " +
                $"primaries fully covered: [{string.Join(", ", covered)}]. Call again to finish: a new scan only finds what is left. ({ex.Message})",
                ex);
        }

        return (scanned, deleted);
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
        catch (Exception ex) when (ex is RedisException or RedisCommandException or TimeoutException)
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
        catch (Exception ex) when (ex is RedisException or RedisCommandException or TimeoutException)
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
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            throw new CacheStoreException($"Appending to '{stream}' failed: {ex.Message}", ex);
        }
    }

    private async Task<IServer?> PrimaryAsync()
    {
        IConnectionMultiplexer multiplexer = await connection.GetAsync().ConfigureAwait(false);
        return multiplexer.GetEndPoints().Select(e => multiplexer.GetServer(e)).FirstOrDefault(s => !s.IsReplica && s.IsConnected);
    }

    private static async Task<long> UnlinkAsync(IConnectionMultiplexer multiplexer, IDatabase database, List<RedisKey> keys)
    {
        // A multi-key command may only touch one hash slot on a cluster: one UNLINK per slot, pipelined.
        Task<RedisResult>[] unlinks = keys.GroupBy(k => multiplexer.HashSlot(k))
            .Select(group => Unlink.EvaluateAsync(database, group.ToArray(), []))
            .ToArray();
        RedisResult[] results = await Task.WhenAll(unlinks).ConfigureAwait(false);
        return results.Sum(r => (long)r);
    }
}
