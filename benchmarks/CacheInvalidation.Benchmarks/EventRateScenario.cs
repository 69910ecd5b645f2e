using System.Collections.Concurrent;
using System.Data.Common;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Globalization;
using System.Text;
using CacheInvalidation.Diagnostics;
using CacheInvalidation.Events;
using CacheInvalidation.Keys;
using CacheInvalidation.Tests.Infrastructure;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Npgsql;
using StackExchange.Redis;

namespace CacheInvalidation.Benchmarks;

/// <summary>
/// Sustained event rate and commit → invalidated lag, end to end through the library's own hosted services: writers
/// append one event per transaction at an offered rate; 1 or 3 relay nodes (each its own <c>ServiceProvider</c> with
/// <c>AddSmartCache().AddOutboxRelay()</c>, a distinct <c>RelayId</c>, the same table) publish to the Redis Stream; one
/// consumer (<c>AddInvalidationConsumer</c>, on the first node) applies. The lag of an event runs from the moment its
/// writer's <c>COMMIT</c> returned to the moment the consumer finished handling it (the end of its
/// <c>cacheinvalidation.event.apply</c> activity, after the key was deleted, the done-mark written and the entry
/// acknowledged) — so it is a little longer than "commit → key gone", never shorter.
/// </summary>
public static class EventRateScenario
{
    private const int Writers = 16;
    private const int PollMilliseconds = 10;
    private static readonly TimeSpan DrainLimit = TimeSpan.FromSeconds(20);
    private static readonly (int Rate, int Seconds)[] Offers = [(200, 10), (1_000, 10), (5_000, 5)];
    private static readonly int[] RelayCounts = [1, 3];
    private static Row? s_current;

    public static async Task<string> RunAsync()
    {
        using ActivityListener applies = ListenToApplies();
        using MeterListener meters = ListenToMeters();
        using PostgresServerProcess postgres = PostgresServerProcess.Start(); // fsync on: every commit is durable
        await using NpgsqlDataSource dataSource = new NpgsqlDataSourceBuilder(
            new NpgsqlConnectionStringBuilder(await postgres.CreateDatabaseAsync()) { MaxPoolSize = 40 }.ConnectionString).Build();
        using ConnectionMultiplexer redis = await ConnectionMultiplexer.ConnectAsync(Participants.RedisUrl);
        string postgresVersion = await ScalarAsync(dataSource, "SHOW server_version");

        string loadBefore = LoadAverage();
        var rows = new StringBuilder();
        var stages = new StringBuilder();
        var breakdowns = new StringBuilder();
        int table = 0;
        foreach (Database database in Enum.GetValues<Database>())
        {
            // Not reported: JIT, pools, the server's caches.
            await RunRowAsync(await TargetAsync(database, dataSource, table++), relays: 1, rate: 200, seconds: 2, redis);
            foreach (int relays in RelayCounts)
            {
                foreach ((int rate, int seconds) in Offers)
                {
                    Row row = await RunRowAsync(await TargetAsync(database, dataSource, table++), relays, rate, seconds, redis);
                    rows.AppendLine(row.Format());
                    stages.AppendLine(row.FormatStages());
                    Console.Error.WriteLine(row.Format()); // progress while the run goes on
                    Console.Error.WriteLine(row.CommandBreakdown());
                    if (rate == 1_000 && database != Database.Sqlite)
                    {
                        breakdowns.AppendLine(CultureInfo.InvariantCulture, $"- {row.Name}, {relays} relay(s), 1,000/s: {row.CommandBreakdown()}");
                    }
                }
            }
        }

        return "## Events: sustained rate and commit → invalidated lag\n\n" +
            $"{Writers} writer tasks, one event per transaction (one `INSERT` into the outbox, no batching), offered on an absolute schedule " +
            "(event i is due at start + i / rate; a writer that falls behind commits at once). Lag: writer's `COMMIT` returned → the consumer " +
            "finished the event (key deleted, done-mark written, entry acknowledged). One consumer; 3 relays = 3 nodes (own `ServiceProvider`, " +
            "own Redis connection, distinct `RelayId`) over one table, all in this one process.\n\n" +
            "| database | relays | offered | committed/s | applied/s (sustained) | lag p50 (ms) | lag p99 (ms) | lag max (ms) | not applied after 20 s | duplicates published | library lag p99 (ms) | load 1 min |\n" +
            "|---|---|---|---|---|---|---|---|---|---|---|---|\n" +
            rows +
            "\nWhere the time goes (same events): commit → XADD is the relay's part (waiting for its wake-up or poll, the claim, the " +
            "publish; the entry's id carries Redis's clock in ms, compared with the writer's clock at commit: ±1 ms), XADD → applied the " +
            "consumer's (the announcement, XREADGROUP, the done-mark check, the key's deletion, the done-mark, XACK, and any backlog ahead of it).\n\n" +
            "Redis commands per applied event, from `INFO commandstats` around each row (all of it: writers, relays, consumer, and the " +
            "few commands of starting and stopping the nodes; `INFO commandstats` also counts the commands a script runs, so these are executions, " +
            "not round trips): total, `XREADGROUP` (the consumer reads twice per pass: its pending entries, then new ones), " +
            "scripts (`EVAL`/`EVALSHA`: per event the done-mark check, the deletion and the done-mark; per pass the gap check and the trim), " +
            "`XADD`, `SPUBLISH` (the relay's announcement, one per published batch, and the cache's own notification of each invalidation to the local tiers).\n\n" +
            "| database | relays | offered/s | commit → XADD p50 (ms) | p99 (ms) | XADD → applied p50 (ms) | p99 (ms) | Redis commands per event | XREADGROUP | scripts | XADD | SPUBLISH |\n" +
            "|---|---|---|---|---|---|---|---|---|---|---|---|\n" +
            stages +
            "\nEvery command per applied event, at 1,000 events/s on PostgreSQL:\n\n" +
            breakdowns +
            $"\nSettings: SQLite {SqliteVersion()} file in WAL mode (synchronous FULL, the default; `busy_timeout` 5 s on every connection), relays poll every " +
            $"{PollMilliseconds} ms (SQLite has no wake-up); PostgreSQL {postgresVersion} (private server, fsync on, synchronous_commit on), relays " +
            "`UsePostgreSql(dataSource)`: LISTEN/NOTIFY wake-up, 200 ms safety poll (the default); the no-NOTIFY rows drop the schema's insert trigger and " +
            $"set the PostgreSQL dialect and connection by hand, no wake signal, {PollMilliseconds} ms poll. Relay and consumer batches of 100 (the defaults); " +
            "the consumer wakes on the relay's announcement, 100 ms safety poll (the default). Duplicates published: the stream's `entries-added` " +
            "(XINFO STREAM, unaffected by the consumer's trimming) minus the events committed. Library lag: the `cacheinvalidation.event.lag` " +
            "histogram (from `OccurredAt`, set before the transaction began, to the acknowledgement), as a cross-check. " +
            $"Load average (1, 5, 15 min) before the run: {loadBefore}; after: {LoadAverage()}. Environment.ProcessorCount = {Environment.ProcessorCount}.\n";
    }

    private static async Task<Row> RunRowAsync(OutboxTarget target, int relays, int rate, int seconds, ConnectionMultiplexer redis)
    {
        int total = rate * seconds;
        var row = new Row(target.Name, relays, rate, seconds, total);
        string prefix = $"evr-{Guid.NewGuid():N}"[..12];
        var nodes = new List<(ServiceProvider Provider, IHostedService[] Hosted)>();
        try
        {
            for (int n = 0; n < relays; n++)
            {
                var services = new ServiceCollection();
                int node = n;
                ISmartCacheBuilder builder = services.AddSmartCache(o => { o.Configuration = Participants.RedisUrl; o.KeyPrefix = prefix; })
                    .AddOutboxRelay(o => { target.ConfigureRelay(o); o.RelayId = $"relay-{node}"; });
                if (n == 0)
                {
                    builder.AddInvalidationConsumer(o => o.ConsumerName = "bench");
                }

                ServiceProvider provider = services.BuildServiceProvider();
                IHostedService[] hosted = provider.GetServices<IHostedService>().ToArray();
                nodes.Add((provider, hosted));
            }

            Volatile.Write(ref s_current, row);
            row.CommandsBefore = await CommandStatsAsync(redis);
            foreach ((_, IHostedService[] hosted) in nodes)
            {
                foreach (IHostedService service in hosted)
                {
                    await service.StartAsync(CancellationToken.None);
                }
            }

            await Task.Delay(200); // the consumer's group and announcement subscription are in place before the first event
            row.Start = Stopwatch.GetTimestamp();
            int next = -1;
            await Task.WhenAll(Enumerable.Range(0, Writers).Select(_ => Task.Run(async () =>
            {
                for (int i = Interlocked.Increment(ref next); i < total; i = Interlocked.Increment(ref next))
                {
                    TimeSpan due = TimeSpan.FromSeconds((double)i / rate) - Stopwatch.GetElapsedTime(row.Start);
                    if (due > TimeSpan.Zero)
                    {
                        await Task.Delay(due);
                    }

                    try
                    {
                        await using DbConnection connection = await target.OpenAsync(CancellationToken.None);
                        await using DbTransaction transaction = await connection.BeginTransactionAsync();
                        await target.Outbox.AppendAsync(transaction, Event(i));
                        await transaction.CommitAsync();
                        row.Committed[i] = Stopwatch.GetTimestamp();
                        row.CommittedUnixMs[i] = (DateTime.UtcNow - DateTime.UnixEpoch).TotalMilliseconds;
                    }
                    catch (DbException ex)
                    {
                        Interlocked.Increment(ref row.FailedCommits);
                        Console.Error.WriteLine($"event {i}: {ex.Message}");
                    }
                }
            })));
            row.LastCommit = row.Committed.Max();

            int committed = row.Committed.Count(t => t != 0);
            long deadline = row.LastCommit + (long)(DrainLimit.TotalSeconds * Stopwatch.Frequency);
            while (Volatile.Read(ref row.AppliedCount) < committed && Stopwatch.GetTimestamp() < deadline)
            {
                await Task.Delay(10);
            }
        }
        finally
        {
            foreach ((ServiceProvider provider, IHostedService[] hosted) in nodes)
            {
                foreach (IHostedService service in hosted)
                {
                    await service.StopAsync(CancellationToken.None);
                }

                await provider.DisposeAsync();
            }

            Volatile.Write(ref s_current, null);
            await target.DisposeAsync();
        }

        row.CommandsAfter = await CommandStatsAsync(redis);
        row.Published = await EntriesAddedAsync(redis, PrefixKeys.EventStreamKey(prefix));
        row.LoadAverage = LoadAverage().Split(' ')[0];
        return row;
    }

    private static InvalidationEvent Event(int i)
    {
        string id = i.ToString(CultureInfo.InvariantCulture);
        // One entity per event: with concurrent writers and several relays, events of one entity could be published out
        // of commit order and be skipped as out-of-order, which is right but would not be "applied".
        return new InvalidationEvent { Id = id, Type = "row.updated", Entity = "row:" + id, EntityVersion = 1, Keys = [new EventKey("row", id)] };
    }

    private static async Task<OutboxTarget> TargetAsync(Database database, NpgsqlDataSource dataSource, int number)
    {
        if (database == Database.PostgreSqlPolled)
        {
            // What the NOTIFY costs, measured by its absence: the insert trigger dropped, the relay polling instead.
            var polled = new InvalidationOutbox($"outbox_{number}", OutboxDialect.PostgreSql);
            await using (NpgsqlConnection setup = await dataSource.OpenConnectionAsync())
            {
                await polled.EnsureSchemaAsync(setup);
                await using NpgsqlCommand drop = new($"DROP TRIGGER {polled.TableName}_inserted ON {polled.TableName}", setup);
                await drop.ExecuteNonQueryAsync();
            }

            return new OutboxTarget(
                $"PostgreSQL, no NOTIFY trigger, relay polls every {PollMilliseconds} ms",
                polled,
                async ct => await dataSource.OpenConnectionAsync(ct),
                o =>
                {
                    o.TableName = polled.TableName;
                    o.Dialect = OutboxDialect.PostgreSql;
                    o.OpenConnection = async ct => await dataSource.OpenConnectionAsync(ct);
                    o.PollInterval = TimeSpan.FromMilliseconds(PollMilliseconds);
                },
                () => Task.CompletedTask);
        }

        if (database == Database.PostgreSql)
        {
            var outbox = new InvalidationOutbox($"outbox_{number}", OutboxDialect.PostgreSql);
            await using (NpgsqlConnection setup = await dataSource.OpenConnectionAsync())
            {
                await outbox.EnsureSchemaAsync(setup);
            }

            var signals = new ConcurrentBag<IAsyncDisposable>();
            return new OutboxTarget(
                "PostgreSQL",
                outbox,
                async ct => await dataSource.OpenConnectionAsync(ct),
                o =>
                {
                    o.TableName = outbox.TableName;
                    o.UsePostgreSql(dataSource);
                    signals.Add((IAsyncDisposable)o.WakeSignal!);
                },
                async () =>
                {
                    foreach (IAsyncDisposable signal in signals)
                    {
                        await signal.DisposeAsync();
                    }
                });
        }

        string path = Path.Combine(Path.GetTempPath(), $"bench-events-{Guid.NewGuid():N}.db");
        async Task<DbConnection> OpenSqliteAsync(CancellationToken ct)
        {
            var connection = new SqliteConnection($"Data Source={path}");
            await connection.OpenAsync(ct);
            // Concurrent writers: SQLite's own busy handler waits for the lock (Microsoft.Data.Sqlite's retry sleeps 150 ms).
            await using SqliteCommand busy = connection.CreateCommand();
            busy.CommandText = "PRAGMA busy_timeout = 5000";
            await busy.ExecuteNonQueryAsync(ct);
            return connection;
        }

        var sqliteOutbox = new InvalidationOutbox($"outbox_{number}");
        await using (DbConnection setup = await OpenSqliteAsync(CancellationToken.None))
        {
            await using DbCommand wal = setup.CreateCommand();
            wal.CommandText = "PRAGMA journal_mode=WAL";
            await wal.ExecuteNonQueryAsync();
            await sqliteOutbox.EnsureSchemaAsync(setup);
        }

        return new OutboxTarget(
            "SQLite",
            sqliteOutbox,
            OpenSqliteAsync,
            o =>
            {
                o.TableName = sqliteOutbox.TableName;
                o.OpenConnection = OpenSqliteAsync;
                o.PollInterval = TimeSpan.FromMilliseconds(PollMilliseconds);
            },
            () =>
            {
                SqliteConnection.ClearAllPools();
                foreach (string file in new[] { path, path + "-wal", path + "-shm" })
                {
                    File.Delete(file);
                }

                return Task.CompletedTask;
            });
    }

    /// <summary>The end of each event's handling by the consumer: the first one per event id counts (a duplicate's is later).</summary>
    private static ActivityListener ListenToApplies()
    {
        var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == CacheTelemetry.ActivitySourceName,
            Sample = (ref ActivityCreationOptions<ActivityContext> options) =>
                options.Name == "cacheinvalidation.event.apply" ? ActivitySamplingResult.AllDataAndRecorded : ActivitySamplingResult.None,
            ActivityStopped = activity =>
            {
                long now = Stopwatch.GetTimestamp();
                if (Volatile.Read(ref s_current) is { } row
                    && activity.GetTagItem("cacheinvalidation.event.id") is string id
                    && int.TryParse(id, NumberStyles.None, CultureInfo.InvariantCulture, out int i)
                    && i < row.Applied.Length
                    && Interlocked.CompareExchange(ref row.Applied[i], now, 0) == 0)
                {
                    Interlocked.Increment(ref row.AppliedCount);
                    if (activity.GetTagItem("cacheinvalidation.event.stream_id") is string streamId
                        && long.TryParse(streamId.AsSpan(0, streamId.IndexOf('-', StringComparison.Ordinal)), NumberStyles.None, CultureInfo.InvariantCulture, out long ms))
                    {
                        row.PublishedUnixMs[i] = ms;
                    }
                }
            },
        };
        ActivitySource.AddActivityListener(listener);
        return listener;
    }

    /// <summary>The library's own lag histogram and event outcomes, per row.</summary>
    private static MeterListener ListenToMeters()
    {
        var listener = new MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Meter.Name == CacheTelemetry.MeterName && instrument.Name is "cacheinvalidation.event.lag" or "cacheinvalidation.events")
                {
                    l.EnableMeasurementEvents(instrument);
                }
            },
        };
        listener.SetMeasurementEventCallback<double>((_, seconds, _, _) => Volatile.Read(ref s_current)?.LibraryLags.Add(seconds * 1000));
        listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            if (Volatile.Read(ref s_current) is not { } row)
            {
                return;
            }

            foreach (KeyValuePair<string, object?> tag in tags)
            {
                if (tag.Key == "cacheinvalidation.outcome" && tag.Value is string outcome)
                {
                    row.Outcomes.AddOrUpdate(outcome, value, (_, sum) => sum + value);
                }
            }
        });
        listener.Start();
        return listener;
    }

    /// <summary>Entries ever appended to the stream (Redis 7's <c>entries-added</c>), trimmed or not.</summary>
    private static async Task<long> EntriesAddedAsync(ConnectionMultiplexer redis, string streamKey)
    {
        var fields = (RedisResult[])(await redis.GetDatabase().ExecuteAsync("XINFO", "STREAM", streamKey))!;
        for (int i = 0; i + 1 < fields.Length; i += 2)
        {
            if ((string?)fields[i] == "entries-added")
            {
                return (long)fields[i + 1];
            }
        }

        throw new InvalidOperationException("XINFO STREAM has no entries-added (Redis 7+ is needed).");
    }

    /// <summary>Calls per command since the server started (<c>INFO commandstats</c>); the private server serves only this run.</summary>
    private static async Task<Dictionary<string, long>> CommandStatsAsync(ConnectionMultiplexer redis)
    {
        string info = (string)(await redis.GetDatabase().ExecuteAsync("INFO", "commandstats"))!;
        var calls = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (string line in info.Split('\n', StringSplitOptions.TrimEntries))
        {
            // cmdstat_xadd:calls=123,usec=456,...
            if (line.StartsWith("cmdstat_", StringComparison.Ordinal) && line.IndexOf(":calls=", StringComparison.Ordinal) is > 0 and int colon)
            {
                string value = line[(colon + 7)..line.IndexOf(',', colon)];
                calls[line[8..colon]] = long.Parse(value, CultureInfo.InvariantCulture);
            }
        }

        return calls;
    }

    private static async Task<string> ScalarAsync(NpgsqlDataSource dataSource, string sql)
    {
        await using NpgsqlCommand command = dataSource.CreateCommand(sql);
        return Convert.ToString(await command.ExecuteScalarAsync(), CultureInfo.InvariantCulture)!;
    }

    private static string SqliteVersion()
    {
        using var connection = new SqliteConnection("Data Source=:memory:");
        connection.Open();
        return connection.ServerVersion;
    }

    private static string LoadAverage() => string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3));

    private enum Database
    {
        Sqlite,
        PostgreSql,
        PostgreSqlPolled,
    }

    /// <summary>Where the outbox lives for one row: its table, how writers and relays connect, and what to release after.</summary>
    private sealed record OutboxTarget(
        string Name,
        InvalidationOutbox Outbox,
        Func<CancellationToken, Task<DbConnection>> OpenAsync,
        Action<OutboxRelayOptions> ConfigureRelay,
        Func<Task> Release)
    {
        public Task DisposeAsync() => Release();
    }

    private sealed class Row(string database, int relays, int rate, int seconds, int total)
    {
        public long[] Committed { get; } = new long[total];

        public long[] Applied { get; } = new long[total];

        public double[] CommittedUnixMs { get; } = new double[total];

        /// <summary>The ms part of the event's stream entry id: Redis's clock when the relay's XADD arrived.</summary>
        public long[] PublishedUnixMs { get; } = new long[total];

        public ConcurrentBag<double> LibraryLags { get; } = [];

        public ConcurrentDictionary<string, long> Outcomes { get; } = new(StringComparer.Ordinal);

        public long Start { get; set; }

        public long LastCommit { get; set; }

        public long Published { get; set; }

        public string LoadAverage { get; set; } = "";

        public Dictionary<string, long> CommandsBefore { get; set; } = [];

        public Dictionary<string, long> CommandsAfter { get; set; } = [];

#pragma warning disable SA1401, CA1051 // Interlocked targets.
        public int AppliedCount;
        public int FailedCommits;
#pragma warning restore SA1401, CA1051

        public string Format()
        {
            int committed = Committed.Count(t => t != 0);
            double[] lags = Enumerable.Range(0, total)
                .Where(i => Committed[i] != 0 && Applied[i] != 0)
                .Select(i => (Applied[i] - Committed[i]) * 1000.0 / Stopwatch.Frequency)
                .Order()
                .ToArray();
            long lastApplied = Applied.Max();
            double commitSeconds = (LastCommit - Start) / (double)Stopwatch.Frequency;
            double applySeconds = (lastApplied - Start) / (double)Stopwatch.Frequency;
            double[] library = LibraryLags.Order().ToArray();
            string failed = FailedCommits > 0 ? $" ({FailedCommits} failed)" : "";
            string odd = Outcomes.Where(o => o.Key is not ("applied" or "duplicate")).Select(o => $"{o.Key} {o.Value}") is var others && others.Any()
                ? " (" + string.Join(", ", others) + ")"
                : "";
            return string.Create(CultureInfo.InvariantCulture,
                $"| {database} | {relays} | {rate:N0}/s × {seconds} s = {total:N0}{failed} | {committed / commitSeconds:N0} | {AppliedCount / applySeconds:N0} | " +
                $"{Percentile(lags, 0.50):F1} | {Percentile(lags, 0.99):F1} | {lags.LastOrDefault():F1} | {committed - AppliedCount:N0}{odd} | " +
                $"{Published - committed:N0} | {Percentile(library, 0.99):F1} | {LoadAverage} |");
        }

        public string Name => database;

        /// <summary>Every command's calls during the row per applied event, most frequent first.</summary>
        public string CommandBreakdown() => string.Join(", ", CommandsAfter.Keys
            .Select(c => (Command: c, Calls: CommandsAfter[c] - CommandsBefore.GetValueOrDefault(c)))
            .Where(c => c.Calls >= 0.005 * AppliedCount) // not the few commands of starting and stopping the nodes
            .OrderByDescending(c => c.Calls)
            .Select(c => string.Create(CultureInfo.InvariantCulture, $"`{c.Command.ToUpperInvariant()}` {c.Calls / (double)Math.Max(1, AppliedCount):F2}")));

        public string FormatStages()
        {
            int[] seen = Enumerable.Range(0, total).Where(i => Committed[i] != 0 && Applied[i] != 0 && PublishedUnixMs[i] != 0).ToArray();
            double[] relay = seen.Select(i => PublishedUnixMs[i] - CommittedUnixMs[i]).Order().ToArray();
            double[] consumer = seen.Select(i => (Applied[i] - Committed[i]) * 1000.0 / Stopwatch.Frequency - (PublishedUnixMs[i] - CommittedUnixMs[i])).Order().ToArray();
            return string.Create(CultureInfo.InvariantCulture,
                $"| {database} | {relays} | {rate:N0} | {Percentile(relay, 0.50):F1} | {Percentile(relay, 0.99):F1} | {Percentile(consumer, 0.50):F1} | {Percentile(consumer, 0.99):F1} | " +
                $"{PerEvent(CommandsAfter.Keys)} | {PerEvent(["xreadgroup"])} | {PerEvent(["eval", "evalsha"])} | {PerEvent(["xadd"])} | {PerEvent(["spublish"])} |");
        }

        /// <summary>Redis calls of <paramref name="commands"/> during the row, per event applied.</summary>
        private string PerEvent(IEnumerable<string> commands)
        {
            long calls = commands.Sum(c => CommandsAfter.GetValueOrDefault(c) - CommandsBefore.GetValueOrDefault(c));
            return (calls / (double)Math.Max(1, AppliedCount)).ToString("F2", CultureInfo.InvariantCulture);
        }

        private static double Percentile(double[] sorted, double p) =>
            sorted.Length == 0 ? double.NaN : sorted[Math.Min(sorted.Length - 1, (int)(p * sorted.Length))];
    }
}
