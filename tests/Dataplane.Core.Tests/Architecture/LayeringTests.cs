using System.Reflection;
using Dataplane.Control.Compiler;
using Dataplane.Core.Pipeline;
using Dataplane.Core.Snapshot;

namespace Dataplane.Core.Tests.Architecture;

/// <summary>
/// The datapath (Dataplane.Core) stands apart from the control plane (Dataplane.Control): the core never
/// references YAML or the config model, every pipeline stage sits in the Pipeline namespace, and the table
/// namespaces stay below the pipeline and the snapshot that hold them.
/// </summary>
public class LayeringTests
{
    private static readonly Assembly Core = typeof(DatapathSnapshot).Assembly;

    [Fact]
    public void CoreReferencesNeitherYamlNorTheControlPlane()
    {
        var referenced = Core.GetReferencedAssemblies().Select(a => a.Name!).ToList();
        Assert.DoesNotContain(referenced, n => n.StartsWith("YamlDotNet", StringComparison.Ordinal));
        Assert.DoesNotContain(referenced, n => n.StartsWith("Dataplane.", StringComparison.Ordinal));
        Assert.DoesNotContain(Core.GetTypes(), t => t.Namespace?.StartsWith("Dataplane.Control", StringComparison.Ordinal) == true);
    }

    [Fact]
    public void ControlPlaneDependsOnTheCore()
    {
        var control = typeof(SnapshotCompiler).Assembly;
        Assert.Contains(control.GetReferencedAssemblies(), a => a.Name == Core.GetName().Name);
        Assert.Contains(control.GetReferencedAssemblies(), a => a.Name == "YamlDotNet");
    }

    [Fact]
    public void EveryStageLivesInThePipelineNamespace()
    {
        var stages = Core.GetTypes().Where(t => t.IsValueType && typeof(IStage).IsAssignableFrom(t)).ToList();
        Assert.Contains(typeof(OverlayDecapStage), stages);
        Assert.All(stages, t => Assert.Equal(typeof(IStage).Namespace, t.Namespace));
    }

    /// <summary>
    /// Tables and helpers (Overlay, Services, Nat, Policy, …) are what the snapshot and the stages are built
    /// from; none of their signatures may name a stage, the pipeline or the snapshot.
    /// </summary>
    [Theory]
    [InlineData("Checksums"), InlineData("Conntrack"), InlineData("Drops"), InlineData("EgressGateway"),
     InlineData("Identity"), InlineData("IpCache"), InlineData("Nat"), InlineData("Overlay"), InlineData("Packets"),
     InlineData("Parsing"), InlineData("Policy"), InlineData("Routing"), InlineData("Services")]
    public void TablesDoNotReachUpToThePipelineOrTheSnapshot(string area)
    {
        string ns = "Dataplane.Core." + area;
        string[] above = [typeof(IStage).Namespace!, typeof(DatapathSnapshot).Namespace!];
        var types = Core.GetTypes().Where(t => t.Namespace == ns).ToList();
        Assert.NotEmpty(types);
        var offenders = types.SelectMany(t => SignatureTypes(t).Select(u => (t, u)))
            .Where(x => x.u.Namespace is { } n && above.Contains(n))
            .Select(x => $"{x.t.FullName} → {x.u.FullName}").Distinct().ToList();
        Assert.Empty(offenders);
    }

    private const BindingFlags All = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance
        | BindingFlags.Static | BindingFlags.DeclaredOnly;

    private static IEnumerable<Type> SignatureTypes(Type t)
    {
        if (t.BaseType != null) yield return t.BaseType;
        foreach (var i in t.GetInterfaces()) yield return i;
        foreach (var f in t.GetFields(All)) yield return f.FieldType;
        foreach (var p in t.GetProperties(All)) yield return p.PropertyType;
        foreach (var m in t.GetMethods(All))
        {
            yield return m.ReturnType;
            foreach (var p in m.GetParameters()) yield return p.ParameterType;
        }
        foreach (var c in t.GetConstructors(All))
            foreach (var p in c.GetParameters()) yield return p.ParameterType;
    }
}
