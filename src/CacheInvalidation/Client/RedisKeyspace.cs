using StackExchange.Redis;

namespace CacheInvalidation.Client;

/// <summary>
/// Keyspace-wide operations: SCAN on every primary, UNLINK in batches grouped by hash slot, server configuration
/// (CONFIG GET/SET) and the audit stream.
/// </summary>
internal sealed class RedisKeyspace(RedisConnection connection) : IKeyspace
{
    /// <summary>
    /// Scans the primaries that own the key space — on a cluster, every slot owner of the client's current slot map — for
    /// keys matching <paramref name="pattern"/>, <paramref name="pageSize"/> at a time, and hands each page to
    /// <paramref name="onBatch"/>, which returns how many keys it removed. The pattern narrows the scan; what to do with
    /// each key is the caller's exact rule. A primary that is down is skipped and the others are still scanned; the call
    /// then fails, naming what was and was not covered, and calling again (after the failover) finishes the job.
    /// </summary>
    /// <returns>The keys scanned and the sum of what <paramref name="onBatch"/> returned.</returns>
    public async Task<(long Scanned, long Removed)> ScanAsync(
        string pattern,
        int pageSize,
        Func<IReadOnlyList<string>, long, long, CancellationToken, Task<long>> onBatch,
        CancellationToken cancellationToken)
    {
        IConnectionMultiplexer multiplexer = await connection.GetAsync().ConfigureAwait(false);
        var progress = new ScanProgress();

        // A slot migration or failover during a pass can move keys behind the scan; the pass is repeated (it then
        // only finds what is left) until the cluster's slot map held still, at most three times.
        for (int pass = 0; pass < 3; pass++)
        {
            Owner[] owners = Owners(multiplexer);
            progress.Uncovered.Clear();
            await ScanPassAsync(multiplexer, owners, pattern, pageSize, progress, onBatch, cancellationToken).ConfigureAwait(false);
            if (progress.Uncovered.Count == 0 && SlotMap(Owners(multiplexer)) == SlotMap(owners))
            {
                break;
            }
        }

        if (progress.Uncovered.Count > 0)
        {
            throw new CacheStoreException(
                $"Scanning for '{pattern}' did not cover every primary: not covered [{string.Join("; ", progress.Uncovered)}]; covered [{string.Join(", ", progress.Covered.Distinct())}] " +
                $"({progress.Scanned} keys scanned, {progress.Removed} removed). Call again once the cluster has failed over: a new scan only finds what is left.");
        }

        return (progress.Scanned, progress.Removed);
    }

    /// <summary>Unlinks keys, one script per hash slot on a cluster (pipelined); returns how many existed.</summary>
    public Task<long> UnlinkAsync(IReadOnlyList<string> keys, CancellationToken cancellationToken) =>
        connection.EvaluatePerSlotAsync(connection.Resilience.Operations, LuaScripts.Unlink, keys, static key => [key], cancellationToken);

    /// <summary>
    /// Who owns the key space: on a cluster, the primaries that own slots in the client's current slot map (refreshed by
    /// StackExchange.Redis on MOVED and on reconfiguration, without needing admin rights) — not a failed primary whose
    /// slots moved to its replica; on a standalone server, the primaries it knows.
    /// </summary>
    private static Owner[] Owners(IConnectionMultiplexer multiplexer)
    {
        IServer[] servers = multiplexer.GetEndPoints().Select(e => multiplexer.GetServer(e)).ToArray();
        ClusterConfiguration? cluster = servers.FirstOrDefault(s => s.IsConnected && s.ServerType == ServerType.Cluster)?.ClusterConfiguration;
        if (cluster is null)
        {
            return servers.Where(s => !s.IsReplica).Select(s => new Owner(s.EndPoint, "all slots")).ToArray();
        }

        return cluster.Nodes
            .Where(n => !n.IsReplica && n.Slots.Count > 0 && n.EndPoint is not null)
            .Select(n => new Owner(n.EndPoint!, string.Join(',', n.Slots)))
            .ToArray();
    }

    private static string SlotMap(Owner[] owners) =>
        string.Join(';', owners.Select(o => $"{o.EndPoint}={o.Slots}").Order(StringComparer.Ordinal));

    private static async Task ScanPassAsync(
        IConnectionMultiplexer multiplexer,
        Owner[] owners,
        string pattern,
        int pageSize,
        ScanProgress progress,
        Func<IReadOnlyList<string>, long, long, CancellationToken, Task<long>> onBatch,
        CancellationToken cancellationToken)
    {
        IDatabase database = multiplexer.GetDatabase();
        foreach (Owner owner in owners)
        {
            IServer server = multiplexer.GetServer(owner.EndPoint);
            if (!server.IsConnected)
            {
                progress.Uncovered.Add($"{owner.EndPoint} (slots {owner.Slots}): not connected");
                continue;
            }

            try
            {
                var batch = new List<string>(pageSize);
                await foreach (RedisKey key in server.KeysAsync(database.Database, pattern, pageSize: pageSize).WithCancellation(cancellationToken).ConfigureAwait(false))
                {
                    progress.Scanned++;
                    batch.Add(key!);
                    if (batch.Count == pageSize)
                    {
                        progress.Removed += await onBatch(batch, progress.Scanned, progress.Removed, cancellationToken).ConfigureAwait(false);
                        batch.Clear();
                    }
                }

                if (batch.Count > 0)
                {
                    progress.Removed += await onBatch(batch, progress.Scanned, progress.Removed, cancellationToken).ConfigureAwait(false);
                }

                progress.Covered.Add(owner.EndPoint.ToString() ?? "?");
            }
            catch (Exception ex) when (ex is CacheStoreException || (RedisCall.IsStoreFailure(ex) && !cancellationToken.IsCancellationRequested))
            {
                // This primary failed part-way; the others are still scanned, and the call reports it.
                progress.Uncovered.Add($"{owner.EndPoint} (slots {owner.Slots}): {ex.Message}");
            }
        }
    }

    private sealed record Owner(System.Net.EndPoint EndPoint, string Slots);

    private sealed class ScanProgress
    {
        public long Scanned { get; set; }

        public long Removed { get; set; }

        public List<string> Covered { get; } = [];

        public List<string> Uncovered { get; } = [];
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

    /// <summary>HGET through the operations lane (the circuit breaker).</summary>
    public async Task<string?> ReadRecordFieldAsync(string key, string field, CancellationToken cancellationToken)
    {
        IDatabase database = (await connection.GetAsync().ConfigureAwait(false)).GetDatabase();
        RedisValue value = await connection.Resilience.Operations.RunAsync(() => database.HashGetAsync(key, field), cancellationToken).ConfigureAwait(false);
        return value.IsNull ? null : value.ToString();
    }

    /// <summary>HGETALL through the operations lane.</summary>
    public async Task<IReadOnlyDictionary<string, string>> ReadRecordAsync(string key, CancellationToken cancellationToken)
    {
        IDatabase database = (await connection.GetAsync().ConfigureAwait(false)).GetDatabase();
        HashEntry[] entries = await connection.Resilience.Operations.RunAsync(() => database.HashGetAllAsync(key), cancellationToken).ConfigureAwait(false);
        return entries.ToDictionary(e => e.Name.ToString(), e => e.Value.ToString(), StringComparer.Ordinal);
    }

    /// <summary>MULTI, HSET, XADD, EXEC: one hash slot (the caller passes keys under one hash tag).</summary>
    public async Task<string> WriteRecordAuditedAsync(
        string key,
        IReadOnlyList<KeyValuePair<string, string>> fields,
        string auditStream,
        IReadOnlyList<KeyValuePair<string, string>> audit,
        int auditMaxLength,
        CancellationToken cancellationToken)
    {
        IDatabase database = (await connection.GetAsync().ConfigureAwait(false)).GetDatabase();
        HashEntry[] hash = fields.Select(f => new HashEntry(f.Key, f.Value)).ToArray();
        NameValueEntry[] record = audit.Select(f => new NameValueEntry(f.Key, f.Value)).ToArray();
        async Task<RedisValue> CommitAsync()
        {
            ITransaction transaction = database.CreateTransaction();
            Task set = transaction.HashSetAsync(key, hash);
            Task<RedisValue> id = transaction.StreamAddAsync(auditStream, record, maxLength: auditMaxLength, useApproximateMaxLength: true);
            if (!await transaction.ExecuteAsync().ConfigureAwait(false))
            {
                throw new CacheStoreException($"The transaction writing '{key}' and its audit record was not committed.");
            }

            await set.ConfigureAwait(false);
            return await id.ConfigureAwait(false);
        }

        return (await connection.Resilience.Operations.RunAsync(CommitAsync, cancellationToken).ConfigureAwait(false)).ToString();
    }

    private async Task<IServer?> PrimaryAsync()
    {
        IConnectionMultiplexer multiplexer = await connection.GetAsync().ConfigureAwait(false);
        return multiplexer.GetEndPoints().Select(e => multiplexer.GetServer(e)).FirstOrDefault(s => !s.IsReplica && s.IsConnected);
    }
}
