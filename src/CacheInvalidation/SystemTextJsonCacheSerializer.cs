using System.Buffers;
using System.Diagnostics.CodeAnalysis;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;

namespace CacheInvalidation;

/// <summary>
/// The default serializer: UTF-8 JSON through System.Text.Json. In a trimmed or Native AOT application, give it a
/// <see cref="JsonSerializerContext"/> that declares every cached type (<c>[JsonSerializable(typeof(T))]</c>).
/// </summary>
public sealed class SystemTextJsonCacheSerializer : ICacheSerializer
{
    private readonly JsonSerializerOptions _options;

    /// <summary>
    /// Creates a serializer with the given options (web defaults when null). Options without a
    /// <see cref="JsonSerializerOptions.TypeInfoResolver"/> use reflection, which trimmed and Native AOT applications
    /// disable: there, pass options with a resolver or use <see cref="SystemTextJsonCacheSerializer(JsonSerializerContext)"/>.
    /// </summary>
    /// <param name="options">The options; copied, not changed, when a resolver must be added to them.</param>
    public SystemTextJsonCacheSerializer(JsonSerializerOptions? options = null)
        : this(options, reflectionAllowed: true)
    {
    }

    /// <summary>
    /// Creates a serializer that uses source-generated metadata only, with the context's own options (declare
    /// <c>[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]</c> on it to read entries the default serializer wrote).
    /// Needs no reflection: the choice for trimmed and Native AOT applications.
    /// </summary>
    /// <param name="context">The context declaring every cached type with <c>[JsonSerializable(typeof(T))]</c>.</param>
    public SystemTextJsonCacheSerializer(JsonSerializerContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        _options = context.Options;
    }

    /// <param name="options">The options, web defaults when null.</param>
    /// <param name="reflectionAllowed">False: behave as in an application that disabled reflection, whatever this one does (tests).</param>
    internal SystemTextJsonCacheSerializer(JsonSerializerOptions? options, bool reflectionAllowed)
    {
        options ??= new JsonSerializerOptions(JsonSerializerDefaults.Web);
        if (options.TypeInfoResolver is null && reflectionAllowed && ReflectionResolver() is { } reflection)
        {
            options = new JsonSerializerOptions(options) { TypeInfoResolver = reflection };
        }

        _options = options;
    }

    /// <summary>A shared instance with web defaults (reflection-based; see <see cref="SystemTextJsonCacheSerializer(JsonSerializerContext)"/> for trimmed applications).</summary>
    public static SystemTextJsonCacheSerializer Default { get; } = new();

    /// <inheritdoc/>
    public void Serialize<T>(T value, IBufferWriter<byte> destination)
    {
        ArgumentNullException.ThrowIfNull(destination);
        JsonTypeInfo<T> typeInfo = TypeInfo<T>();
        using var writer = new Utf8JsonWriter(destination);
        JsonSerializer.Serialize(writer, value, typeInfo);
    }

    /// <inheritdoc/>
    public T Deserialize<T>(ReadOnlySpan<byte> source) => JsonSerializer.Deserialize(source, TypeInfo<T>())!;

    /// <summary>
    /// Why <paramref name="serializer"/> could not serialize anything, naming <see cref="SmartCacheOptions.Serializer"/>;
    /// null when nothing is known to be wrong. Start-up validation reports it, so such an application never runs uncached.
    /// </summary>
    internal static string? ConfigurationProblem(ICacheSerializer serializer) =>
        serializer is SystemTextJsonCacheSerializer { _options.TypeInfoResolver: null } ? NoResolverMessage : null;

    private const string NoResolverMessage =
        $"{nameof(SmartCacheOptions)}.{nameof(SmartCacheOptions.Serializer)}: reflection-based System.Text.Json serialization is disabled in this application "
        + "(it is trimmed or Native AOT) and the serializer has no JsonSerializerContext, so no value could be cached. Set "
        + $"{nameof(SmartCacheOptions)}.{nameof(SmartCacheOptions.Serializer)} = new {nameof(SystemTextJsonCacheSerializer)}(YourJsonContext.Default), "
        + "a context declaring [JsonSerializable(typeof(T))] for every cached type T.";

    private JsonTypeInfo<T> TypeInfo<T>()
    {
        // Checked first: on .NET 8, asking options without a resolver for metadata throws a message about read-only options.
        if (_options.TypeInfoResolver is { } resolver)
        {
            if (_options.TryGetTypeInfo(typeof(T), out JsonTypeInfo? typeInfo))
            {
                return (JsonTypeInfo<T>)typeInfo;
            }

            // Not a "write error" or a "corrupt entry": without metadata this type can never be cached.
            string name = Describe(typeof(T));
            throw new SerializerConfigurationException(
                $"{nameof(SmartCacheOptions)}.{nameof(SmartCacheOptions.Serializer)} has no JSON metadata for {name}: its resolver ({resolver.GetType().Name}) "
                + $"does not know the type. Add [JsonSerializable(typeof({name}))] to your JsonSerializerContext.");
        }

        throw new SerializerConfigurationException(NoResolverMessage);
    }

    [UnconditionalSuppressMessage("Trimming", "IL2026:RequiresUnreferencedCode", Justification = "Guarded by the feature switch that trimmed and Native AOT applications turn off: the trimmer removes this branch there, and start-up validation reports the missing context instead.")]
    [UnconditionalSuppressMessage("AOT", "IL3050:RequiresDynamicCode", Justification = "Guarded by the feature switch that trimmed and Native AOT applications turn off: the trimmer removes this branch there, and start-up validation reports the missing context instead.")]
    private static DefaultJsonTypeInfoResolver? ReflectionResolver() =>
        JsonSerializer.IsReflectionEnabledByDefault ? new DefaultJsonTypeInfoResolver() : null;

    /// <summary>The type as C# spells it (<c>List&lt;Product&gt;</c>), for a message the user can paste.</summary>
    private static string Describe(Type type)
    {
        if (type.IsArray)
        {
            return Describe(type.GetElementType()!) + "[" + new string(',', type.GetArrayRank() - 1) + "]";
        }

        if (Nullable.GetUnderlyingType(type) is { } underlying)
        {
            return Describe(underlying) + "?";
        }

        string name = type.IsNested ? Describe(type.DeclaringType!) + "." + type.Name : type.Name;
        if (!type.IsGenericType)
        {
            return name;
        }

        var text = new StringBuilder(name[..name.IndexOf('`', StringComparison.Ordinal)]).Append('<');
        text.AppendJoin(", ", type.GetGenericArguments().Select(Describe));
        return text.Append('>').ToString();
    }
}
