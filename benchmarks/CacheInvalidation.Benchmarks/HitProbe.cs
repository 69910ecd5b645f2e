using System.Diagnostics;
using System.Globalization;
using System.Text;
using StackExchange.Redis;

namespace CacheInvalidation.Benchmarks;

/// <summary>
/// What each read path asks of Redis, counted by the server (<c>INFO commandstats</c>) over 1,000 sequential hits: the
/// commands per read (commands run inside a script included) and the server time per read, plus the bytes each library
/// stores for the payload. Runs once in the host process before the benchmarks, so the tables explain the timings.
/// </summary>
public static class HitProbe
{
    private const int Reads = 1000;
    private static readonly string[] ScriptCommands = ["evalsha", "eval", "evalsha_ro", "eval_ro", "fcall", "fcall_ro"];

    public static async Task<string> RunAsync()
    {
        using Participants p = await Participants.CreateAsync("probe");
        await p.FillScopesAsync();
        IServer server = p.Redis.GetServer(p.Redis.GetEndPoints()[0]);
        (string Name, Func<Participants, Task> Read)[] paths =
        [
            ("raw StringGetAsync + deserialize", static p => Benchmarks.Reads.RawGetDeserialize(p)),
            ("raw StringGetAsync (bytes only)", static p => Benchmarks.Reads.RawGet(p)),
            ("naive versioned read (2 round trips)", static p => Benchmarks.Reads.NaiveVersionedRead(p)),
            ("SmartCache GetOrSetAsync hit", static async p => await Benchmarks.Reads.SmartCacheHit(p)),
            ($"SmartCache hit, a new scope each read ({Participants.ManyScopes:N0} in use)", static async p => await Benchmarks.Reads.SmartCacheHitAcrossScopes(p)),
            ("FusionCache memory hit", static async p => await Benchmarks.Reads.FusionMemoryHit(p)),
            ("FusionCache distributed-only hit", static async p => await Benchmarks.Reads.FusionDistributedHit(p)),
            ("HybridCache local hit", static async p => await Benchmarks.Reads.HybridLocalHit(p)),
            ("HybridCache distributed hit", static async p => await Benchmarks.Reads.HybridDistributedHit(p)),
        ];

        var report = new StringBuilder();
        report.AppendLine(CultureInfo.InvariantCulture, $"### Redis work per hit ({Reads:N0} sequential hits, INFO commandstats)");
        report.AppendLine();
        report.AppendLine("| read path | commands per read (server µs per call) | server µs per read |");
        report.AppendLine("|---|---|---|");
        foreach ((string name, Func<Participants, Task> read) in paths)
        {
            for (int i = 0; i < 50; i++)
            {
                await read(p);
            }

            Dictionary<string, (long Calls, long Usec)> before = await CommandStatsAsync(server);
            for (int i = 0; i < Reads; i++)
            {
                await read(p);
            }

            Dictionary<string, (long Calls, long Usec)> after = await CommandStatsAsync(server);
            var delta = after
                .Select(kv => (Command: kv.Key, Calls: kv.Value.Calls - before.GetValueOrDefault(kv.Key).Calls, Usec: kv.Value.Usec - before.GetValueOrDefault(kv.Key).Usec))
                .Where(d => d.Calls > 0 && d.Command != "info")
                .OrderByDescending(d => ScriptCommands.Contains(d.Command))
                .ThenBy(d => d.Command, StringComparer.Ordinal)
                .ToArray();
            // A script's time includes the commands it runs (which commandstats also counts on their own).
            bool scripted = delta.Any(d => ScriptCommands.Contains(d.Command));
            double serverUsec = delta.Where(d => !scripted || ScriptCommands.Contains(d.Command)).Sum(d => (double)d.Usec) / Reads;
            string commands = delta.Length == 0
                ? "none"
                : string.Join(", ", delta.Select(d => string.Create(CultureInfo.InvariantCulture,
                    $"{d.Command.ToUpperInvariant()} ×{(double)d.Calls / Reads:0.##} ({(double)d.Usec / d.Calls:0.00})")));
            report.AppendLine(CultureInfo.InvariantCulture, $"| {name} | {commands} | {serverUsec:0.00} |");
        }

        report.AppendLine();
        report.Append(await InterleavedAsync(p, paths.Where(path => !path.Name.Contains("memory", StringComparison.Ordinal) && !path.Name.Contains("local", StringComparison.Ordinal)).ToArray()));

        if (Participants.FactoryCalls != 0)
        {
            throw new InvalidOperationException("A probed read called its factory: it was a miss.");
        }

        report.AppendLine();
        report.AppendLine("### Bytes stored in Redis for the payload");
        report.AppendLine();
        report.AppendLine("| key | type | value bytes |");
        report.AppendLine("|---|---|---|");
        var keys = new List<RedisKey> { Participants.RawKey };
        await foreach (RedisKey key in server.KeysAsync(pattern: $"*{p.Prefix}*product*1"))
        {
            keys.Add(key);
        }

        foreach (RedisKey key in keys.OrderBy(k => k.ToString(), StringComparer.Ordinal))
        {
            RedisType type = await p.Database.KeyTypeAsync(key);
            long length = type == RedisType.Hash
                ? (long)await p.Database.ExecuteAsync("HSTRLEN", key, "data")
                : await p.Database.StringLengthAsync(key);
            string shown = key.ToString().Replace(p.Prefix, "{prefix}", StringComparison.Ordinal);
            report.AppendLine(CultureInfo.InvariantCulture, $"| `{shown}` | {type.ToString().ToLowerInvariant()} | {length:N0} |");
        }

        return report.ToString();
    }

    /// <summary>
    /// The Redis read paths timed in turns (one read of each per round, in a random order), so drift in the
    /// machine's load hits every path alike: on a shared machine this pairs better than benchmarks run one after another.
    /// </summary>
    private static async Task<string> InterleavedAsync(Participants p, (string Name, Func<Participants, Task> Read)[] paths)
    {
        const int Rounds = 10_000;
        var samples = new double[paths.Length][];
        for (int i = 0; i < paths.Length; i++)
        {
            samples[i] = new double[Rounds];
        }

        var random = new Random(42);
        int[] order = Enumerable.Range(0, paths.Length).ToArray();
        for (int round = -500; round < Rounds; round++)
        {
            random.Shuffle(order);
            foreach (int i in order)
            {
                long start = Stopwatch.GetTimestamp();
                await paths[i].Read(p);
                double micros = Stopwatch.GetElapsedTime(start).TotalMicroseconds;
                if (round >= 0)
                {
                    samples[i][round] = micros;
                }
            }
        }

        var report = new StringBuilder();
        report.AppendLine(CultureInfo.InvariantCulture, $"### Interleaved latency ({Rounds:N0} rounds of one read per path, in a random order each round)");
        report.AppendLine();
        report.AppendLine("| read path | p50 (µs) | p90 (µs) | p99 (µs) | mean (µs) | p50 ratio | mean ratio |");
        report.AppendLine("|---|---|---|---|---|---|---|");
        Array.ForEach(samples, Array.Sort);
        static double Percentile(double[] sorted, double q) => sorted[Math.Min(sorted.Length - 1, (int)(q * sorted.Length))];
        double baseP50 = Percentile(samples[0], 0.5), baseMean = samples[0].Average();
        for (int i = 0; i < paths.Length; i++)
        {
            double[] s = samples[i];
            report.AppendLine(CultureInfo.InvariantCulture,
                $"| {paths[i].Name} | {Percentile(s, 0.5):0.0} | {Percentile(s, 0.9):0.0} | {Percentile(s, 0.99):0.0} | {s.Average():0.0} | {Percentile(s, 0.5) / baseP50:0.00} | {s.Average() / baseMean:0.00} |");
        }

        return report.ToString();
    }

    internal static async Task<Dictionary<string, (long Calls, long Usec)>> CommandStatsAsync(IServer server)
    {
        var stats = new Dictionary<string, (long, long)>(StringComparer.Ordinal);
        foreach (IGrouping<string, KeyValuePair<string, string>> section in await server.InfoAsync("commandstats"))
        {
            foreach (KeyValuePair<string, string> entry in section)
            {
                // cmdstat_get: calls=3,usec=5,usec_per_call=1.67,...
                string command = entry.Key.StartsWith("cmdstat_", StringComparison.Ordinal) ? entry.Key["cmdstat_".Length..] : entry.Key;
                long calls = 0, usec = 0;
                foreach (string field in entry.Value.Split(','))
                {
                    string[] pair = field.Split('=');
                    if (pair is ["calls", var c])
                    {
                        calls = long.Parse(c, CultureInfo.InvariantCulture);
                    }
                    else if (pair is ["usec", var u])
                    {
                        usec = long.Parse(u, CultureInfo.InvariantCulture);
                    }
                }

                stats[command] = (calls, usec);
            }
        }

        return stats;
    }
}
