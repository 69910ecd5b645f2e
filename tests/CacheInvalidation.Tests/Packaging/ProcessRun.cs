using System.Diagnostics;

namespace CacheInvalidation.Tests.Packaging;

/// <summary>What a finished child process printed and returned.</summary>
public sealed record ProcessResult(int ExitCode, string StandardOutput, string StandardError)
{
    /// <summary>Both streams, for assertions on warnings and for failure messages.</summary>
    public string Output => StandardOutput + StandardError;
}

/// <summary>Runs the tools the packaging tests drive (<c>dotnet publish</c>, <c>dotnet pack</c>, a published app).</summary>
internal static class ProcessRun
{
    /// <summary>The repository's root: the folder of <c>CacheInvalidation.sln</c> above the test assembly.</summary>
    public static string RepositoryRoot { get; } = FindRepositoryRoot();

    /// <summary>Runs <c>dotnet</c> with its build servers off: a server left running would keep the output pipes open.</summary>
    public static Task<ProcessResult> DotnetAsync(IEnumerable<string> arguments, TimeSpan limit) =>
        RunAsync("dotnet", [.. arguments, "--disable-build-servers", "-nologo", "-tl:off"], environment: null, limit);

    /// <summary>Runs <paramref name="fileName"/> to its end; a run past <paramref name="limit"/> is killed (its process tree) and fails the test.</summary>
    public static async Task<ProcessResult> RunAsync(string fileName, IEnumerable<string> arguments, IReadOnlyDictionary<string, string>? environment, TimeSpan limit)
    {
        var start = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = RepositoryRoot,
        };
        foreach (string argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        // The test host runs under `dotnet test`, whose MSBuild variables would point a nested build at the wrong SDK parts.
        foreach (string name in start.Environment.Keys.Where(k => k.StartsWith("MSBUILD", StringComparison.OrdinalIgnoreCase)).ToList())
        {
            start.Environment.Remove(name);
        }

        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        start.Environment["DOTNET_NOLOGO"] = "1";
        foreach ((string name, string value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[name] = value;
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException($"{fileName} did not start.");
        Task<string> readOutput = process.StandardOutput.ReadToEndAsync();
        Task<string> readError = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(limit);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
            throw new TimeoutException($"{fileName} {string.Join(' ', arguments)} ran longer than {limit}: {await readOutput}{await readError}");
        }

        return new ProcessResult(process.ExitCode, await readOutput, await readError);
    }

    private static string FindRepositoryRoot()
    {
        for (DirectoryInfo? directory = new(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "CacheInvalidation.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException($"No CacheInvalidation.sln above {AppContext.BaseDirectory}.");
    }
}
