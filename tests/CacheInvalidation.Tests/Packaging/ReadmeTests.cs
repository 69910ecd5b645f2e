using System.Text.RegularExpressions;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace CacheInvalidation.Tests.Packaging;

/// <summary>The README's C# is what a new user copies first: every block must compile as written, usings included.</summary>
public sealed class ReadmeTests
{
    // What a new SDK-style project has without writing it (ImplicitUsings); everything else a block needs, it shows.
    private const string ImplicitUsings = """
        global using System;
        global using System.Collections.Generic;
        global using System.IO;
        global using System.Linq;
        global using System.Net.Http;
        global using System.Threading;
        global using System.Threading.Tasks;
        """;

    [Fact]
    public void Every_csharp_block_of_the_readme_compiles_as_written()
    {
        string readme = File.ReadAllText(RepositoryFile("README.md"));
        List<(int Line, string Code)> blocks = CSharpBlocks(readme);
        MetadataReference[] references = References();

        var failures = new List<string>();
        foreach ((int line, string code) in blocks)
        {
            foreach (Diagnostic error in Compile(code, references).Where(d => d.Severity == DiagnosticSeverity.Error))
            {
                FileLinePositionSpan at = error.Location.GetLineSpan();
                failures.Add($"README.md:{line + at.StartLinePosition.Line + 1}: {error.Id} {error.GetMessage(System.Globalization.CultureInfo.InvariantCulture)}");
            }
        }

        Assert.True(blocks.Count >= 4, $"expected the README's usage blocks, found {blocks.Count}");
        Assert.True(failures.Count == 0, string.Join(Environment.NewLine, failures));
    }

    [Fact]
    public void The_check_catches_a_block_that_does_not_compile()
    {
        // The same compiler on the README's old usage: `builder` undeclared, usings missing.
        const string broken = """
            builder.Services.AddSmartCache(o => o.KeyPrefix = "shop");
            """;

        Assert.Contains(Compile(broken, References()), d => d.Severity == DiagnosticSeverity.Error && d.Id == "CS0103");
    }

    private static List<(int Line, string Code)> CSharpBlocks(string markdown)
    {
        var blocks = new List<(int, string)>();
        foreach (Match match in Regex.Matches(markdown, @"^```csharp[^\n]*\n(.*?)^```", RegexOptions.Singleline | RegexOptions.Multiline))
        {
            int line = markdown[..match.Groups[1].Index].Count(c => c == '\n');
            blocks.Add((line, match.Groups[1].Value));
        }

        return blocks;
    }

    private static System.Collections.Immutable.ImmutableArray<Diagnostic> Compile(string code, MetadataReference[] references)
    {
        var parse = new CSharpParseOptions(LanguageVersion.Latest);
        SyntaxTree tree = CSharpSyntaxTree.ParseText(code, parse);
        bool program = tree.GetRoot().ChildNodes().OfType<GlobalStatementSyntax>().Any();
        CSharpCompilation compilation = CSharpCompilation.Create(
            "ReadmeBlock",
            [tree, CSharpSyntaxTree.ParseText(ImplicitUsings, parse)],
            references,
            new CSharpCompilationOptions(program ? OutputKind.ConsoleApplication : OutputKind.DynamicallyLinkedLibrary, nullableContextOptions: NullableContextOptions.Enable));
        return compilation.GetDiagnostics();
    }

    /// <summary>The framework and every package the test host loads: the library's packages and the Microsoft.Extensions hosting a user has.</summary>
    private static MetadataReference[] References() =>
        ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!).Split(Path.PathSeparator)
            .Where(path => path.EndsWith(".dll", StringComparison.OrdinalIgnoreCase))
            .Select(path => (MetadataReference)MetadataReference.CreateFromFile(path))
            .ToArray();

    private static string RepositoryFile(string name)
    {
        for (DirectoryInfo? directory = new(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            string candidate = Path.Combine(directory.FullName, name);
            if (File.Exists(candidate) && File.Exists(Path.Combine(directory.FullName, "CacheInvalidation.sln")))
            {
                return candidate;
            }
        }

        throw new FileNotFoundException($"{name} not found above {AppContext.BaseDirectory}");
    }
}
