using BenchmarkDotNet.Running;
using CacheInvalidation.Hybrid.Benchmarks;

// `propagation`: RemoveByTagAsync on node A → node B stops serving the entry from memory (Markdown on stdout);
// `hits`: a memory hit through the adapter per key shape (BenchmarkDotNet). No argument: both.
if (args is [] or ["propagation", ..])
{
    Console.WriteLine(await TagPropagation.RunAsync());
}

if (args is [] or ["hits", ..])
{
    BenchmarkRunner.Run<MemoryHit>();
}
