using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using CacheInvalidation.Keys;
using Microsoft.Extensions.Caching.StackExchangeRedis;
using Microsoft.Extensions.Options;
using ZiggyCreatures.Caching.Fusion;

namespace CacheInvalidation.Benchmarks;

/// <summary>
/// Reads while Redis is frozen (SIGSTOP, by pid, on a redis-server of its own): 16 callers read 64 warm keys in a loop
/// (factory 5 ms) through SmartCache with its defaults and through FusionCache configured for outages — distributed
/// soft and hard timeouts of 50 ms and its distributed circuit breaker (2 s) — reading Redis, not its memory tier.
/// Latency of the calls made during the freeze, calls per second, and exceptions the callers saw.
/// </summary>
public static class OutageScenario
{
    private const int Callers = 16;
    private const int Keys = 64;
    private static readonly TimeSpan Freeze = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan FactoryTime = TimeSpan.FromMilliseconds(5);

    public static async Task<string> RunAsync()
    {
        var report = new StringBuilder();
        report.AppendLine(CultureInfo.InvariantCulture, $"### Reads during a {Freeze.TotalSeconds:0} s freeze of Redis ({Callers} callers, {Keys} warm keys, 5 ms factory)");
        report.AppendLine();
        report.AppendLine("| library | calls during the freeze | calls/s | p50 (ms) | p99 (ms) | max (ms) | exceptions |");
        report.AppendLine("|---|---|---|---|---|---|---|");
        report.AppendLine(await RunAsync("SmartCache (defaults: 50 ms read timeout, circuit breaker)", SmartReader));
        report.AppendLine(await RunAsync("FusionCache (distributed soft/hard timeout 50 ms, circuit breaker 2 s)", FusionReader));
        return report.ToString();
    }

    private static async Task<Func<int, Task<int>>> SmartReader(string endpoint)
    {
        var cache = new SmartCache(Options.Create(new SmartCacheOptions { Configuration = endpoint }));
        for (int i = 0; i < Keys; i++)
        {
            await cache.SetAsync(CacheKey.Entity("outage", i), i);
        }

        return async i => await cache.GetOrSetAsync(CacheKey.Entity("outage", i % Keys), async ct =>
        {
            await Task.Delay(FactoryTime, ct);
            return i;
        });
    }

    private static async Task<Func<int, Task<int>>> FusionReader(string endpoint)
    {
        var fusion = new FusionCache(new FusionCacheOptions { DistributedCacheCircuitBreakerDuration = TimeSpan.FromSeconds(2) });
        fusion.SetupDistributedCache(new RedisCache(Options.Create(new RedisCacheOptions { Configuration = endpoint })), new JsonFusionSerializer());
        var options = new FusionCacheEntryOptions
        {
            Duration = TimeSpan.FromHours(1),
            SkipMemoryCacheRead = true,
            DistributedCacheSoftTimeout = TimeSpan.FromMilliseconds(50),
            DistributedCacheHardTimeout = TimeSpan.FromMilliseconds(50),
        };
        for (int i = 0; i < Keys; i++)
        {
            await fusion.SetAsync($"outage:{i}", i, options);
        }

        return async i => await fusion.GetOrSetAsync<int>($"outage:{i % Keys}", async (_, ct) =>
        {
            await Task.Delay(FactoryTime, ct);
            return i;
        }, options);
    }

    private static async Task<string> RunAsync(string name, Func<string, Task<Func<int, Task<int>>>> create)
    {
        using Process server = StartServer(out int port);
        try
        {
            Func<int, Task<int>> read = await create($"127.0.0.1:{port},abortConnect=false");
            using var stop = new CancellationTokenSource();
            var calls = new ConcurrentQueue<(long Started, double Ms)>();
            int exceptions = 0;
            Task[] callers = Enumerable.Range(0, Callers).Select(caller => Task.Run(async () =>
            {
                for (int i = caller; !stop.IsCancellationRequested; i += Callers)
                {
                    long started = Stopwatch.GetTimestamp();
                    try
                    {
                        await read(i);
                    }
#pragma warning disable CA1031 // Counted: a caller must see none.
                    catch (Exception)
#pragma warning restore CA1031
                    {
                        Interlocked.Increment(ref exceptions);
                    }

                    calls.Enqueue((started, Stopwatch.GetElapsedTime(started).TotalMilliseconds));
                }
            })).ToArray();

            await Task.Delay(TimeSpan.FromSeconds(1));
            long frozenAt = Stopwatch.GetTimestamp();
            Signal(server, "STOP");
            await Task.Delay(Freeze);
            long resumedAt = Stopwatch.GetTimestamp();
            Signal(server, "CONT");
            await Task.Delay(TimeSpan.FromSeconds(1));
            await stop.CancelAsync();
            await Task.WhenAll(callers);

            double[] during = calls.Where(c => c.Started >= frozenAt && c.Started < resumedAt).Select(c => c.Ms).Order().ToArray();
            double At(double q) => during.Length == 0 ? 0 : during[Math.Min(during.Length - 1, (int)(q * during.Length))];
            return string.Create(CultureInfo.InvariantCulture,
                $"| {name} | {during.Length:N0} | {during.Length / Freeze.TotalSeconds:N0} | {At(0.5):0.0} | {At(0.99):0.0} | {(during.Length == 0 ? 0 : during[^1]):0.0} | {exceptions} |");
        }
        finally
        {
            Signal(server, "CONT");
            server.Kill();
            await server.WaitForExitAsync();
        }
    }

    private static Process StartServer(out int port)
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        var start = new ProcessStartInfo("redis-server") { UseShellExecute = false, RedirectStandardOutput = true };
        foreach (string argument in new[] { "--port", port.ToString(CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no" })
        {
            start.ArgumentList.Add(argument);
        }

        Process process = Process.Start(start) ?? throw new InvalidOperationException("redis-server did not start");
        process.OutputDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        DateTime deadline = DateTime.UtcNow.AddSeconds(10);
        while (true)
        {
            try
            {
                using var client = new TcpClient();
                client.Connect(IPAddress.Loopback, port);
                return process;
            }
            catch (SocketException) when (DateTime.UtcNow < deadline)
            {
                Thread.Sleep(50);
            }
        }
    }

    private static void Signal(Process server, string signal)
    {
        using Process kill = Process.Start("kill", ["-" + signal, server.Id.ToString(CultureInfo.InvariantCulture)]);
        kill.WaitForExit();
    }
}
