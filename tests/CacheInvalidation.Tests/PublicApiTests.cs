using System.Reflection;
using System.Runtime.CompilerServices;

namespace CacheInvalidation.Tests;

/// <summary>
/// The public API of each package is tracked in an approved list — PublicApi.approved.txt for CacheInvalidation,
/// PublicApi.Hybrid.approved.txt for CacheInvalidation.Hybrid, PublicApi.OpenTelemetry.approved.txt for
/// CacheInvalidation.OpenTelemetry — so every change to it is a visible choice in a diff. When
/// it changes on purpose, copy the .received.txt file (written next to the approved one) over it.
/// </summary>
public sealed class PublicApiTests
{
    /// <summary>Each package's assembly and the name of its list, without the .approved.txt / .received.txt ending.</summary>
    public static TheoryData<string, string> Packages => new()
    {
        { "CacheInvalidation", "PublicApi" },
        { "CacheInvalidation.Hybrid", "PublicApi.Hybrid" },
        { "CacheInvalidation.OpenTelemetry", "PublicApi.OpenTelemetry" },
        { "CacheInvalidation.EntityFrameworkCore", "PublicApi.EntityFrameworkCore" },
        { "CacheInvalidation.PostgreSql", "PublicApi.PostgreSql" },
    };

    [Theory]
    [MemberData(nameof(Packages))]
    public void Public_api_matches_the_approved_list(string assemblyName, string list)
    {
        // The approved lists are copied next to the test assembly: CI builds map source paths (/_/…), so the caller's
        // file path cannot be used to find them there.
        string approvedPath = Path.Combine(AppContext.BaseDirectory, list + ".approved.txt");
        string received = string.Join('\n', Describe(Assembly.Load(assemblyName))) + "\n";
        string approved = File.ReadAllText(approvedPath).Replace("\r\n", "\n", StringComparison.Ordinal);

        if (received != approved)
        {
            string directory = Directory.Exists(SourceDirectory()) ? SourceDirectory() : AppContext.BaseDirectory;
            File.WriteAllText(Path.Combine(directory, list + ".received.txt"), received);
        }

        Assert.Equal(approved, received);
    }

    private static IEnumerable<string> Describe(Assembly assembly) =>
        assembly.GetExportedTypes()
            .SelectMany(type => new[] { $"{Kind(type)} {Name(type)}" }.Concat(Members(type).Select(m => $"{Name(type)}::{m}")))
            .Order(StringComparer.Ordinal);

    private static IEnumerable<string> Members(Type type)
    {
        const BindingFlags flags = BindingFlags.Public | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly;
        foreach (MemberInfo member in type.GetMembers(flags))
        {
            switch (member)
            {
                case ConstructorInfo c:
                    yield return $"ctor({Parameters(c)})";
                    break;
                case MethodInfo m when !m.IsSpecialName || m.Name.StartsWith("op_", StringComparison.Ordinal):
                    if (m.GetCustomAttribute<CompilerGeneratedAttribute>() is null)
                    {
                        string generic = m.IsGenericMethod ? $"<{string.Join(", ", m.GetGenericArguments().Select(Name))}>" : string.Empty;
                        yield return $"{(m.IsStatic ? "static " : string.Empty)}{Name(m.ReturnType)} {m.Name}{generic}({Parameters(m)})";
                    }

                    break;
                case PropertyInfo p:
                    string accessors = (p.GetMethod?.IsPublic == true ? "get; " : string.Empty) + (p.SetMethod?.IsPublic == true ? (IsInit(p.SetMethod) ? "init; " : "set; ") : string.Empty);
                    yield return $"{(p.GetMethod?.IsStatic == true ? "static " : string.Empty)}{Name(p.PropertyType)} {p.Name} {{ {accessors}}}";
                    break;
                case FieldInfo f:
                    yield return $"{(f.IsLiteral ? "const " : f.IsStatic ? "static " : string.Empty)}{Name(f.FieldType)} {f.Name}";
                    break;
            }
        }
    }

    private static bool IsInit(MethodInfo setter) =>
        setter.ReturnParameter.GetRequiredCustomModifiers().Any(m => m.Name == "IsExternalInit");

    private static string Parameters(MethodBase method) =>
        string.Join(", ", method.GetParameters().Select(p => $"{Name(p.ParameterType)} {p.Name}{(p.HasDefaultValue ? " = default" : string.Empty)}"));

    private static string Kind(Type type) =>
        type.IsInterface ? "interface" : type.IsEnum ? "enum" : type.IsValueType ? "struct" : type.IsAbstract && type.IsSealed ? "static class" : "class";

    private static string Name(Type type)
    {
        if (type.IsGenericParameter)
        {
            return type.Name;
        }

        string name = type.IsNested ? $"{Name(type.DeclaringType!)}.{type.Name}" : $"{type.Namespace}.{type.Name}";
        if (type.IsGenericType)
        {
            name = name[..name.IndexOf('`', StringComparison.Ordinal)] + $"<{string.Join(", ", type.GetGenericArguments().Select(Name))}>";
        }

        return name;
    }

    private static string SourceDirectory([CallerFilePath] string path = "") => Path.GetDirectoryName(path)!;
}
