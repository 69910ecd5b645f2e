using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Exporters;
using BenchmarkDotNet.Jobs;

namespace CacheInvalidation.Benchmarks;

/// <summary>
/// A short job (1 launch, 5 warm-ups, 15 iterations of ~500 ms) so the whole run stays within about 10 minutes on
/// 2 cores; ratios within one run are the figures to quote, absolute times on a shared machine are noisy.
/// </summary>
public sealed class BenchConfig : ManualConfig
{
    public BenchConfig()
    {
        AddJob(Job.Default.WithLaunchCount(1).WithWarmupCount(5).WithIterationCount(15).WithIterationTime(Perfolizer.Horology.TimeInterval.FromMilliseconds(500)));
        AddColumn(BaselineRatioColumn.RatioMean, StatisticColumn.P95);
        AddExporter(MarkdownExporter.GitHub);
    }
}
