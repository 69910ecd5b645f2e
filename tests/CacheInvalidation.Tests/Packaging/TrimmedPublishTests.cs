using System.Runtime.InteropServices;
using System.Text.RegularExpressions;
using CacheInvalidation.Tests.Infrastructure;
using Xunit.Abstractions;

namespace CacheInvalidation.Tests.Packaging;

/// <summary>
/// Publishes tests/CacheInvalidation.TrimmedApp trimmed and self-contained, once for the class: a consumer of the library
/// as a trimmed application is, with reflection-based JSON off. The app picks its mode from its arguments.
/// </summary>
public sealed partial class TrimmedAppPublish : IAsyncLifetime
{
    /// <summary>The published app's directory (temporary, deleted with the fixture).</summary>
    public string Directory { get; } = System.IO.Directory.CreateTempSubdirectory("cacheinvalidation-trimmed-").FullName;

    /// <summary>What <c>dotnet publish</c> printed and returned.</summary>
    public ProcessResult Publish { get; private set; } = new(-1, string.Empty, string.Empty);

    /// <summary>Every trim or AOT analysis warning of the publish (IL2xxx, IL3xxx), without the project each line ends with.</summary>
    public IReadOnlyList<string> TrimWarnings =>
        Publish.Output.Split('\n')
            .Where(line => TrimWarning().IsMatch(line))
            .Select(line => ProjectSuffix().Replace(line.Trim(), string.Empty))
            .Distinct(StringComparer.Ordinal)
            .ToList();

    public string App => Path.Combine(Directory, "CacheInvalidation.TrimmedApp" + (OperatingSystem.IsWindows() ? ".exe" : string.Empty));

    public async Task InitializeAsync()
    {
        string project = Path.Combine(ProcessRun.RepositoryRoot, "tests", "CacheInvalidation.TrimmedApp", "CacheInvalidation.TrimmedApp.csproj");
        Publish = await ProcessRun.DotnetAsync(
            ["publish", project, "-c", "Release", "-r", PortableRuntimeIdentifier(), "--self-contained", "-p:PublishTrimmed=true", "-o", Directory],
            TimeSpan.FromMinutes(6));
    }

    public Task DisposeAsync()
    {
        System.IO.Directory.Delete(Directory, recursive: true);
        return Task.CompletedTask;
    }

    /// <summary>linux-x64, osx-arm64…: runtime packs exist for portable identifiers only, not for a distribution's own.</summary>
    private static string PortableRuntimeIdentifier()
    {
        string os = OperatingSystem.IsWindows() ? "win" : OperatingSystem.IsMacOS() ? "osx" : "linux";
        return $"{os}-{RuntimeInformation.OSArchitecture.ToString().ToLowerInvariant()}";
    }

    [GeneratedRegex(@"warning IL[23]\d{3}\b")]
    private static partial Regex TrimWarning();

    [GeneratedRegex(@"\s*\[[^\]]*\.csproj[^\]]*\]$")]
    private static partial Regex ProjectSuffix();
}

[Collection(RedisCollection.Name)]
public sealed class TrimmedPublishTests(RedisFixture redis, TrimmedAppPublish published, ITestOutputHelper output) : IClassFixture<TrimmedAppPublish>
{
    private const int Reads = 5;

    private Task<ProcessResult> RunAppAsync(string mode) =>
        ProcessRun.RunAsync(published.App, [mode, Reads.ToString(System.Globalization.CultureInfo.InvariantCulture)], new Dictionary<string, string> { ["REDIS_URL"] = redis.ConnectionString }, TimeSpan.FromMinutes(1));

    [Fact]
    public void Publish_succeeds_without_a_trim_warning_from_CacheInvalidation()
    {
        Assert.True(published.Publish.ExitCode == 0, published.Publish.Output);
        output.WriteLine($"{published.TrimWarnings.Count} trim/AOT warnings in the whole publish (dependencies included):");
        foreach (string warning in published.TrimWarnings)
        {
            output.WriteLine(warning);
        }

        // The library and the app (namespace TrimmedApp, project CacheInvalidation.TrimmedApp) both count.
        Assert.DoesNotContain(published.TrimWarnings, w => w.Contains("CacheInvalidation", StringComparison.Ordinal) || w.Contains("TrimmedApp", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Trimmed_app_with_a_context_caches_its_values()
    {
        Assert.True(published.Publish.ExitCode == 0, published.Publish.Output);

        ProcessResult run = await RunAppAsync("context");

        Assert.True(run.ExitCode == 0, run.Output);
        Assert.Contains("reflection enabled: False", run.StandardOutput, StringComparison.Ordinal); // really trimmed
        Assert.Contains($"factory calls: 1 for {Reads} reads; value: Sunny 21 Lyon+Turin", run.StandardOutput, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("reflection", "OptionsValidationException: SmartCacheOptions.Serializer: reflection-based System.Text.Json serialization is disabled")] // at start-up
    [InlineData("missing-type", "Add [JsonSerializable(typeof(Forecast))] to your JsonSerializerContext")] // at the first read
    public async Task Trimmed_app_without_metadata_for_its_values_fails_loudly_instead_of_running_uncached(string mode, string message)
    {
        Assert.True(published.Publish.ExitCode == 0, published.Publish.Output);

        ProcessResult run = await RunAppAsync(mode);

        Assert.NotEqual(0, run.ExitCode);
        Assert.Contains(message, run.StandardError, StringComparison.Ordinal);
        Assert.DoesNotContain("factory calls", run.StandardOutput, StringComparison.Ordinal);
    }
}
