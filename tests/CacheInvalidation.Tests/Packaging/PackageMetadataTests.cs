using System.IO.Compression;
using System.Reflection.Metadata;
using System.Reflection.PortableExecutable;
using System.Text.RegularExpressions;
using System.Xml.Linq;

namespace CacheInvalidation.Tests.Packaging;

/// <summary>
/// Packs every project under src/ (once for the class) and reads what NuGet users get: the nuspec's metadata, the files,
/// the symbols and their SourceLink. Packs without building when the Release build is there (as after build.sh test).
/// </summary>
public sealed class PackedPackages : IAsyncLifetime
{
    public string Directory { get; } = System.IO.Directory.CreateTempSubdirectory("cacheinvalidation-pack-").FullName;

    /// <summary>Each project under src/ with what its pack printed.</summary>
    public Dictionary<string, ProcessResult> Packs { get; } = new(StringComparer.Ordinal);

    public static IEnumerable<string> Projects() =>
        System.IO.Directory.GetFiles(Path.Combine(ProcessRun.RepositoryRoot, "src"), "*.csproj", SearchOption.AllDirectories).Order(StringComparer.Ordinal);

    public async Task InitializeAsync()
    {
        foreach (string project in Projects())
        {
            string name = Path.GetFileNameWithoutExtension(project);
            string bin = Path.Combine(Path.GetDirectoryName(project)!, "bin", "Release");
            bool built = PackedFrameworks.All(tfm => File.Exists(Path.Combine(bin, tfm, name + ".dll")));
            List<string> arguments = ["pack", project, "-c", "Release", "-o", Directory];
            if (built)
            {
                arguments.Add("--no-build");
            }

            Packs[name] = await ProcessRun.DotnetAsync(arguments, TimeSpan.FromMinutes(5));
        }
    }

    public Task DisposeAsync()
    {
        System.IO.Directory.Delete(Directory, recursive: true);
        return Task.CompletedTask;
    }

    /// <summary>The target frameworks every package ships.</summary>
    public static readonly string[] PackedFrameworks = ["net8.0", "net10.0"];
}

public sealed partial class PackageMetadataTests(PackedPackages packed) : IClassFixture<PackedPackages>
{
    private const string Repository = "https://github.com/cacheinvalidation/CacheInvalidation";

    public static TheoryData<string> Packages() => new(PackedPackages.Projects().Select(Path.GetFileNameWithoutExtension)!);

    private static string Version() =>
        XDocument.Load(Path.Combine(ProcessRun.RepositoryRoot, "Directory.Build.props")).Descendants("Version").Single().Value;

    private string PackageFile(string id, string extension)
    {
        ProcessResult pack = packed.Packs[id];
        Assert.True(pack.ExitCode == 0, pack.Output);
        Assert.DoesNotMatch(Warning(), pack.Output); // SourceLink, NuGet and package validation all stay silent
        string path = Path.Combine(packed.Directory, $"{id}.{Version()}.{extension}");
        Assert.True(File.Exists(path), $"{path} was not produced: {pack.Output}");
        return path;
    }

    [Fact]
    public void Every_project_under_src_is_packed()
    {
        Assert.NotEmpty(packed.Packs);
        Assert.Contains("CacheInvalidation", packed.Packs.Keys);
    }

    [Theory]
    [MemberData(nameof(Packages))]
    public async Task Nuspec_names_the_package_its_sources_and_its_notes(string id)
    {
        using ZipArchive package = ZipFile.OpenRead(PackageFile(id, "nupkg"));
        XElement metadata = Nuspec(package);
        string Value(string name) => metadata.Element(metadata.Name.Namespace + name)?.Value ?? string.Empty;
        XElement repository = metadata.Element(metadata.Name.Namespace + "repository")!;
        string head = (await ProcessRun.RunAsync("git", ["rev-parse", "HEAD"], null, TimeSpan.FromMinutes(1))).StandardOutput.Trim();

        Assert.Equal(id, Value("id"));
        Assert.Equal(Version(), Value("version"));
        Assert.Equal("MIT", Value("license"));
        Assert.Equal(Repository, Value("projectUrl"));
        Assert.Equal("git", repository.Attribute("type")?.Value);
        Assert.Equal(Repository, repository.Attribute("url")?.Value);
        Assert.Equal(head, repository.Attribute("commit")?.Value);
        Assert.False(string.IsNullOrWhiteSpace(Value("description")));
        Assert.StartsWith(ChangelogSection(Version()), Value("releaseNotes"), StringComparison.Ordinal);
        Assert.EndsWith($"{Repository}/blob/main/CHANGELOG.md", Value("releaseNotes"), StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Packages))]
    public void Package_holds_both_frameworks_with_docs_dependencies_icon_and_readme(string id)
    {
        using ZipArchive package = ZipFile.OpenRead(PackageFile(id, "nupkg"));
        XElement metadata = Nuspec(package);
        XNamespace ns = metadata.Name.Namespace;
        var groups = metadata.Element(ns + "dependencies")!.Elements(ns + "group").ToDictionary(g => g.Attribute("targetFramework")!.Value, StringComparer.OrdinalIgnoreCase);

        foreach (string tfm in PackedPackages.PackedFrameworks)
        {
            Assert.NotNull(package.GetEntry($"lib/{tfm}/{id}.dll"));
            Assert.True(package.GetEntry($"lib/{tfm}/{id}.xml") is { Length: > 1000 }, $"lib/{tfm}/{id}.xml (the XML docs) is missing or empty");
            Assert.True(groups.TryGetValue(tfm, out XElement? group), $"no dependency group for {tfm}");
            Assert.NotEmpty(group.Elements(ns + "dependency"));
        }

        Assert.Equal("icon.png", metadata.Element(ns + "icon")?.Value);
        (int width, int height) = PngSize(package.GetEntry("icon.png")!);
        Assert.Equal((128, 128), (width, height));
        Assert.Equal("README.md", metadata.Element(ns + "readme")?.Value);
        Assert.True(package.GetEntry("README.md") is { Length: > 0 }, "README.md is not packed");
    }

    [Theory]
    [MemberData(nameof(Packages))]
    public void Symbols_package_links_every_framework_to_the_commit_on_GitHub(string id)
    {
        using ZipArchive symbols = ZipFile.OpenRead(PackageFile(id, "snupkg"));
        using ZipArchive package = ZipFile.OpenRead(PackageFile(id, "nupkg"));
        string commit = Nuspec(package).Element(Nuspec(package).Name.Namespace + "repository")!.Attribute("commit")!.Value;

        foreach (string tfm in PackedPackages.PackedFrameworks)
        {
            ZipArchiveEntry pdb = symbols.GetEntry($"lib/{tfm}/{id}.pdb") ?? throw new Xunit.Sdk.XunitException($"lib/{tfm}/{id}.pdb is not in the symbols package");
            (string sourceLink, int embedded) = ReadPdb(pdb);
            Assert.Contains($"https://raw.githubusercontent.com/cacheinvalidation/CacheInvalidation/{commit}/", sourceLink, StringComparison.Ordinal);
            Assert.True(embedded > 0, "no source is embedded (EmbedUntrackedSources: generated files)");
        }
    }

    private static XElement Nuspec(ZipArchive package)
    {
        ZipArchiveEntry entry = package.Entries.Single(e => e.FullName.EndsWith(".nuspec", StringComparison.Ordinal) && !e.FullName.Contains('/', StringComparison.Ordinal));
        using Stream stream = entry.Open();
        XElement root = XDocument.Load(stream).Root!;
        return root.Element(root.Name.Namespace + "metadata")!;
    }

    /// <summary>The body of the version's section of CHANGELOG.md, as the pack puts it in the release notes.</summary>
    private static string ChangelogSection(string version)
    {
        string changelog = File.ReadAllText(Path.Combine(ProcessRun.RepositoryRoot, "CHANGELOG.md")).Replace("\r", string.Empty, StringComparison.Ordinal);
        Match section = Regex.Match(changelog, $@"(?ms)^## \[{Regex.Escape(version)}\][^\n]*\n(.*?)(?=^## |\z)");
        Assert.True(section.Success, $"CHANGELOG.md has no section for {version}");
        return section.Groups[1].Value.Trim();
    }

    private static (int Width, int Height) PngSize(ZipArchiveEntry entry)
    {
        using Stream stream = entry.Open();
        var header = new byte[24];
        stream.ReadExactly(header);
        Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G' }, header[..4]);
        return (System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(header.AsSpan(16)), System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(header.AsSpan(20)));
    }

    /// <summary>The PDB's SourceLink JSON and how many of its documents embed their source.</summary>
    private static (string SourceLink, int EmbeddedSources) ReadPdb(ZipArchiveEntry entry)
    {
        var sourceLinkKind = new Guid("CC110556-A091-4D38-9FEC-25AB9A351A6A");
        var embeddedSourceKind = new Guid("0E8A571B-6926-466E-B4AD-8AB04611F5FE");
        using var copy = new MemoryStream();
        using (Stream stream = entry.Open())
        {
            stream.CopyTo(copy);
        }

        copy.Position = 0;
        using MetadataReaderProvider provider = MetadataReaderProvider.FromPortablePdbStream(copy);
        MetadataReader reader = provider.GetMetadataReader();
        string sourceLink = string.Empty;
        int embedded = 0;
        foreach (CustomDebugInformationHandle handle in reader.CustomDebugInformation)
        {
            CustomDebugInformation information = reader.GetCustomDebugInformation(handle);
            Guid kind = reader.GetGuid(information.Kind);
            if (kind == sourceLinkKind)
            {
                sourceLink = System.Text.Encoding.UTF8.GetString(reader.GetBlobBytes(information.Value));
            }
            else if (kind == embeddedSourceKind)
            {
                embedded++;
            }
        }

        return (sourceLink, embedded);
    }

    // NU1900 (advisories could not be fetched, e.g. offline) is the one warning the build allows: docs/packaging.md.
    [GeneratedRegex(@":\s*warning\s+(?!NU1900)[A-Z]+\d+", RegexOptions.IgnoreCase)]
    private static partial Regex Warning();
}
