using BenchmarkDotNet.Running;
using CacheInvalidation.Benchmarks;

// `scenarios` runs the stampede and fan-out scenarios and prints Markdown; anything else goes to BenchmarkDotNet.
if (args is ["scenarios", ..])
{
    Console.WriteLine(await Scenarios.RunAsync());
    Console.WriteLine(await EventScenario.RunAsync());
    return;
}

BenchmarkSwitcher.FromAssembly(typeof(HitLatency).Assembly).Run(args.Length == 0 ? ["--filter", "*"] : args);
