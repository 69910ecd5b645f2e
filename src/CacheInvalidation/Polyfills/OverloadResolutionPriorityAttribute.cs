#if !NET9_0_OR_GREATER
namespace System.Runtime.CompilerServices;

/// <summary>
/// The .NET 9 attribute, for the net8.0 build: C# 13 compilers honour it by name, so an async lambda passed to the
/// string-key <c>GetOrSetAsync</c> picks the <c>ValueTask</c> overload instead of being ambiguous with the <c>Task</c> one.
/// </summary>
[AttributeUsage(AttributeTargets.Method | AttributeTargets.Constructor | AttributeTargets.Property, Inherited = false)]
internal sealed class OverloadResolutionPriorityAttribute(int priority) : Attribute
{
    public int Priority { get; } = priority;
}
#endif
