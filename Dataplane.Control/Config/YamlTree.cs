using YamlDotNet.Core;
using YamlDotNet.Core.Events;

namespace Dataplane.Control.Config;

/// <summary>A node of a parsed config document: where it starts, for errors that point at it.</summary>
internal abstract class YamlTreeNode(int line, int column)
{
    public int Line { get; } = line;
    public int Column { get; } = column;
}

/// <summary>A scalar with what decides how it resolves: its style (plain or quoted) and whether it carries a tag.</summary>
internal sealed class YamlTreeScalar(int line, int column, string value, ScalarStyle style, bool tagged) : YamlTreeNode(line, column)
{
    public string Value { get; } = value;
    public ScalarStyle Style { get; } = style;
    public bool Tagged { get; } = tagged;
}

/// <summary>A mapping's entries in document order (keys are unique: <see cref="YamlTree"/> refuses duplicates).</summary>
internal sealed class YamlTreeMapping(int line, int column, List<KeyValuePair<YamlTreeNode, YamlTreeNode>> entries) : YamlTreeNode(line, column)
{
    public List<KeyValuePair<YamlTreeNode, YamlTreeNode>> Entries { get; } = entries;
}

internal sealed class YamlTreeSequence(int line, int column, List<YamlTreeNode> items) : YamlTreeNode(line, column)
{
    public List<YamlTreeNode> Items { get; } = items;
}

/// <summary>
/// Builds the documents of a YAML stream from YamlDotNet's parser events into the small tree above. The config
/// loader needs only positions, scalars with their style and tag, and ordered children; YamlDotNet's own
/// representation model also keeps each mapping as a dictionary keyed by nodes, end marks and tags, which made it
/// five to seven times the cost of the parser itself on a 100 000-rule policy (docs/performance.md). Aliases share
/// the anchored node, as in the representation model; their expansion is bounded by <see cref="BoundedYamlParser"/>.
/// Iterative, not recursive, and acyclic: a collection's anchor is defined when the collection closes.
/// </summary>
internal static class YamlTree
{
    /// <summary>Mappings up to this size are checked for duplicate keys pairwise; larger ones with a set.</summary>
    private const int PairwiseDuplicateCheck = 16;

    /// <summary>The root node of each document in <paramref name="parser"/>'s stream (null for an empty document).</summary>
    public static List<YamlTreeNode?> Load(IParser parser, string file)
    {
        var roots = new List<YamlTreeNode?>();
        var anchors = new Dictionary<AnchorName, YamlTreeNode>();
        // Open collections: the collection being filled and, for a mapping, the key waiting for its value.
        var open = new Stack<Frame>();
        YamlTreeNode? root = null;
        bool inDocument = false;
        while (parser.MoveNext())
        {
            var ev = parser.Current!;
            YamlTreeNode? done = null;
            switch (ev)
            {
                case DocumentStart:
                    inDocument = true; root = null; anchors.Clear();
                    continue;
                case DocumentEnd:
                    roots.Add(root);
                    inDocument = false;
                    continue;
                case StreamStart or StreamEnd or Comment:
                    continue;
                case Scalar s:
                    done = new YamlTreeScalar(Line(s), Column(s), s.Value, s.Style, !s.Tag.IsEmpty);
                    Anchor(anchors, s.Anchor, done);
                    break;
                case AnchorAlias a:
                    done = anchors.TryGetValue(a.Value, out var target)
                        ? target
                        : throw new ConfigException(new SourceLocation(file, Line(a), Column(a)), $"alias to an unknown anchor '{a.Value}'");
                    break;
                case MappingStart ms:
                    open.Push(new Frame(new YamlTreeMapping(Line(ms), Column(ms), []), ms.Anchor));
                    continue;
                case SequenceStart ss:
                    open.Push(new Frame(new YamlTreeSequence(Line(ss), Column(ss), []), ss.Anchor));
                    continue;
                case MappingEnd or SequenceEnd:
                    // Anchored when complete: an alias inside its own anchor is unknown there, so no cycles.
                    var closed = open.Pop();
                    done = closed.Node;
                    Anchor(anchors, closed.Anchor, done);
                    break;
            }
            if (done is null) continue;
            if (open.Count == 0)
            {
                if (!inDocument) continue;
                root = done;
                continue;
            }
            var parent = open.Peek();
            switch (parent.Node)
            {
                case YamlTreeSequence sq:
                    sq.Items.Add(done);
                    break;
                case YamlTreeMapping when parent.PendingKey is null:
                    parent.PendingKey = done;
                    break;
                case YamlTreeMapping m:
                    AddEntry(m, parent, parent.PendingKey!, done, file);
                    parent.PendingKey = null;
                    break;
            }
        }
        return roots;
    }

    private static void AddEntry(YamlTreeMapping m, Frame frame, YamlTreeNode key, YamlTreeNode value, string file)
    {
        if (key is YamlTreeScalar k)
        {
            bool duplicate;
            if (m.Entries.Count < PairwiseDuplicateCheck)
            {
                duplicate = false;
                foreach (var e in m.Entries)
                    if (e.Key is YamlTreeScalar other && other.Value == k.Value) { duplicate = true; break; }
            }
            else
            {
                if (frame.Keys is null)
                {
                    frame.Keys = new HashSet<string>(StringComparer.Ordinal);
                    foreach (var e in m.Entries)
                        if (e.Key is YamlTreeScalar s) frame.Keys.Add(s.Value);
                }
                duplicate = !frame.Keys.Add(k.Value);
            }
            if (duplicate)
                throw new ConfigException(new SourceLocation(file, k.Line, k.Column), $"Duplicate key {k.Value}");
        }
        m.Entries.Add(new(key, value));
    }

    private static void Anchor(Dictionary<AnchorName, YamlTreeNode> anchors, AnchorName name, YamlTreeNode node)
    {
        if (!name.IsEmpty) anchors[name] = node;   // a redefined anchor applies to the aliases after it
    }

    private static int Line(ParsingEvent e) => (int)Math.Min(e.Start.Line, int.MaxValue);
    private static int Column(ParsingEvent e) => (int)Math.Min(e.Start.Column, int.MaxValue);

    private sealed class Frame(YamlTreeNode node, AnchorName anchor)
    {
        public YamlTreeNode Node { get; } = node;
        public AnchorName Anchor { get; } = anchor;
        public YamlTreeNode? PendingKey { get; set; }
        public HashSet<string>? Keys { get; set; }
    }
}
