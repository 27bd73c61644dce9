using Dataplane.Control.Config;

namespace Dataplane.Core.Tests.Config;

/// <summary>Syntax, envelope and field-type errors, each blamed on 50-test.yaml at a precise line.</summary>
public class DocumentErrorTests
{
    internal static void AssertFails(string yaml, int line, string reason, bool withLocal = true, int? column = null)
    {
        var e = Assert.Throws<ConfigException>(() => ConfigYaml.Load(yaml, withLocal));
        Assert.Equal("50-test.yaml", e.Location.File);
        Assert.Equal(line, e.Location.Line);
        if (column is { } c)
            Assert.Equal(c, e.Location.Column);
        Assert.Contains(reason, e.Reason);
        Assert.Equal($"{e.Location}: {e.Reason}", e.Message);
    }

    [Theory]
    [InlineData("a: b: c\n", 1, 5, "found invalid mapping")]
    [InlineData("a: 1\nb: [1, 2\nc: 3\n", 3, 1, "")]                   // unterminated flow sequence
    [InlineData("a: \"unterminated\n", 1, 4, "quoted scalar")]
    [InlineData("a: 1\na: 2\n", 2, 1, "Duplicate key a")]
    [InlineData("x: *nope\n", 1, 4, "anchor 'nope'")]                  // at the alias
    [InlineData("x: &a [1, *a]\n", 1, 11, "anchor 'a'")]               // inside its own anchor: no cycles
    public void InvalidYamlSyntax(string yaml, int line, int column, string reason) =>
        AssertFails(yaml, line, reason, column: column);

    [Fact]
    public void DuplicateKeyInALargeMappingIsRefused()
    {
        // Mappings beyond 16 keys are checked with a set rather than pairwise: both paths must refuse.
        var labels = string.Concat(Enumerable.Range(0, 30).Select(i => $"    k{i}: v{i}\n"));
        AssertFails($"apiVersion: v1\nkind: Namespace\nmetadata:\n  name: a\n  labels:\n{labels}    k3: again\n", 36,
            "Duplicate key k3", column: 5);
    }

    [Theory]
    [InlineData("- a\n- b\n", 1, "must be a mapping")]
    [InlineData("just a string\n", 1, "must be a mapping")]
    [InlineData("apiVersion: v1\nkind: Pod\n---\nkind: Pod\nmetadata: {name: x}\n", 1, "missing required field 'metadata'")]
    [InlineData("kind: Pod\nmetadata: {name: x}\n", 1, "missing required field 'apiVersion'")]
    [InlineData("apiVersion: v1\nmetadata: {name: x}\n", 1, "missing required field 'kind'")]
    [InlineData("---\napiVersion: v1\nkind: Namespace\nmetadata:\n  labels: {a: b}\n", 5, "missing required field 'metadata.name'")]
    [InlineData("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: \"\"\n", 4, "metadata.name: must not be empty")]
    [InlineData("apiVersion: v1\nkind: Namespace\nmetadata: [a]\n", 3, "metadata: expected a mapping, got a list")]
    public void MalformedEnvelope(string yaml, int line, string reason) => AssertFails(yaml, line, reason);

    [Fact]
    public void EmptyDocumentsAreSkipped() =>
        Assert.Empty(ConfigYaml.Load("---\n# nothing\n---\n").Pods);

    [Theory]
    [InlineData("apiVersion: cilium.io/v1\nkind: CiliumNetworkPolicy\nmetadata: {name: x}\n",
        1, "unsupported kind CiliumNetworkPolicy (apiVersion cilium.io/v1); CiliumNetworkPolicy requires apiVersion cilium.io/v2")]
    [InlineData("apiVersion: v2\nkind: Pod\nmetadata: {name: x}\n",
        1, "unsupported kind Pod (apiVersion v2); Pod requires apiVersion v1")]
    [InlineData("kind: DataplaneNode\napiVersion: v1\nmetadata: {name: x}\n",
        2, "unsupported kind DataplaneNode (apiVersion v1); DataplaneNode requires apiVersion dataplane.io/v1alpha1")]
    public void UnsupportedKindOrApiVersion(string yaml, int line, string reason) => AssertFails(yaml, line, reason);

    [Theory]
    [InlineData("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {a: b}\n", 4, "metadata.name: expected a string, got a mapping")]
    [InlineData("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: a\n  labels: [x, y]\n", 5, "metadata.labels: expected a mapping, got a list")]
    [InlineData("apiVersion: v1\nkind: Node\nmetadata: {name: n}\nspec:\n  podCIDRs: 198.19.9.0/24\n", 5, "spec.podCIDRs: expected a list, got a scalar")]
    [InlineData("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  nodeName: [node-a]\n", 5, "spec.nodeName: expected a string, got a list")]
    [InlineData("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nstatus:\n  podIPs:\n  - 198.19.1.5\n", 6, "status.podIPs[0]: expected a mapping, got a scalar")]
    public void WrongFieldType(string yaml, int line, string reason) => AssertFails(yaml, line, reason);

    [Theory]
    [InlineData("version: 1", "expected a string, got the non-string scalar 1; quote it")]
    [InlineData("enabled: true", "non-string scalar true")]
    [InlineData("x: yes", "non-string scalar yes")]
    [InlineData("x: 1.5", "non-string scalar 1.5")]
    [InlineData("x: 0x1F", "non-string scalar 0x1F")]
    [InlineData("x:", "got null")]
    [InlineData("x: [a]", "expected a string, got a list")]
    [InlineData("x: {a: b}", "expected a string, got a mapping")]
    public void LabelValuesMustBeStrings(string label, string reason) =>
        AssertFails($"apiVersion: v1\nkind: Namespace\nmetadata:\n  name: a\n  labels:\n    {label}\n", 6, reason);

    [Fact]
    public void QuotedOrVersionLikeLabelValuesAreStrings()
    {
        var m = ConfigYaml.Load("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: a\n  labels:\n" +
                                "    a: \"1\"\n    b: '1.5'\n    c: 1.2.3\n    d: !!str true\n    e: v1\n");
        Assert.Equal(new Dictionary<string, string> { ["a"] = "1", ["b"] = "1.5", ["c"] = "1.2.3", ["d"] = "true", ["e"] = "v1" },
            m.Namespaces.Single().Labels);
    }

    [Fact]
    public void AnnotationValuesMustBeStrings() =>
        AssertFails("apiVersion: v1\nkind: Pod\nmetadata:\n  name: a\n  annotations:\n    replicas: 3\n", 6,
            "metadata.annotations.replicas: expected a string");
}
