using BenchmarkDotNet.Running;
using CacheInvalidation.Benchmarks;

// `scenarios` runs the stampede, fan-out and event scenarios and prints Markdown; `propagation` times an invalidation on
// one node reaching another node's local tier; `probe` only counts the Redis work per hit. Anything else goes to
// BenchmarkDotNet, after the probe (its tables land next to BenchmarkDotNet's results).
if (args is ["cluster", ..])
{
    Console.WriteLine(await ClusterScenario.RunAsync()); // benchmarks/run-cluster.sh: single node vs cluster
    return;
}

if (args is ["outage", ..])
{
    Console.WriteLine(await OutageScenario.RunAsync()); // a redis-server of its own, frozen by pid
    return;
}

if (args is ["propagation", ..])
{
    Console.WriteLine(await PropagationScenario.RunAsync()); // node A invalidates, node B's local tier lets go
    return;
}

if (args is ["sampler", ..])
{
    Console.WriteLine(await SamplerCostScenario.RunAsync()); // the continuous freshness sampler's Redis commands and source loads
    return;
}

if (args is ["events", ..])
{
    Console.WriteLine(await EventRateScenario.RunAsync()); // SQLite and a private PostgreSQL, 1 and 3 relays, 200–5,000 events/s
    return;
}

if (args is ["scenarios", ..])
{
    Console.WriteLine(await Scenarios.RunAsync());
    Console.WriteLine(await EventScenario.RunAsync());
    return;
}

string[] informational = ["--list", "--help", "-h", "--version", "--info", "--list-benchmarks"];
if (args is ["probe", ..] || !args.Any(informational.Contains))
{
    string probe = await HitProbe.RunAsync();
    Console.WriteLine(probe);
    string results = Path.Combine("BenchmarkDotNet.Artifacts", "results");
    Directory.CreateDirectory(results);
    await File.WriteAllTextAsync(Path.Combine(results, "hit-probe.md"), probe);
    if (args is ["probe", ..])
    {
        return;
    }
}

BenchmarkSwitcher.FromAssembly(typeof(HitLatency).Assembly).Run(args.Length == 0 ? ["--filter", "*"] : args);
