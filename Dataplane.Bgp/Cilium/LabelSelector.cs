namespace Dataplane.Bgp.Cilium;

/// <summary>One Kubernetes matchExpressions requirement.</summary>
public sealed record LabelRequirement(string Key, string Operator, IReadOnlyList<string> Values);

/// <summary>
/// A Kubernetes label selector (matchLabels AND matchExpressions with In/NotIn/Exists/DoesNotExist).
/// An empty selector matches everything; a missing one (null at the use site) matches what the CRD says.
/// </summary>
public sealed record LabelSelector(IReadOnlyDictionary<string, string> MatchLabels, IReadOnlyList<LabelRequirement> MatchExpressions)
{
    public static readonly LabelSelector Everything = new(new Dictionary<string, string>(), []);

    public bool Matches(IReadOnlyDictionary<string, string> labels)
    {
        foreach (var (k, v) in MatchLabels)
            if (!labels.TryGetValue(k, out var have) || have != v) return false;
        foreach (var r in MatchExpressions)
        {
            bool has = labels.TryGetValue(r.Key, out var value);
            bool ok = r.Operator switch
            {
                "In" => has && r.Values.Contains(value!),
                "NotIn" => !has || !r.Values.Contains(value!),
                "Exists" => has,
                "DoesNotExist" => !has,
                _ => false, // an unknown operator selects nothing rather than everything
            };
            if (!ok) return false;
        }
        return true;
    }
}
