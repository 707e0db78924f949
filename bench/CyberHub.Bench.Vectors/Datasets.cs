using CyberHub.Ai.VectorStore;

namespace CyberHub.Bench.Vectors;

/// <summary>Seeded synthetic item vectors and queries drawn from the same distribution.</summary>
public sealed class Dataset
{
    private readonly Random _random;
    private readonly float[][]? _centres;

    private Dataset(string name, int seed, int topics)
    {
        Name = name;
        _random = new Random(seed);
        _centres = topics == 0 ? null : Enumerable.Range(0, topics).Select(_ => Uniform()).ToArray();
    }

    public string Name { get; }

    public string Description => _centres is null
        ? "random unit vectors (uniform on the sphere)"
        : $"unit vectors scattered around {_centres.Length:N0} seeded topic centres (centre + 0.8 x random unit noise, normalised)";

    public static Dataset Create(string name) => name switch
    {
        "uniform" => new Dataset(name, seed: 42, topics: 0),
        "topics" => new Dataset(name, seed: 43, topics: 1000),
        _ => throw new ArgumentException($"Unknown dataset '{name}'."),
    };

    public static ContentKey KeyOf(int index) => new(index % 10 == 0 ? "lab" : "course", $"item-{index:D7}");

    public float[] Next()
    {
        if (_centres is null)
        {
            return Uniform();
        }
        var centre = _centres[_random.Next(_centres.Length)];
        var noise = Uniform();
        var vector = new float[centre.Length];
        for (var i = 0; i < vector.Length; i++)
        {
            vector[i] = centre[i] + 0.8f * noise[i];
        }
        return Normalise(vector);
    }

    private float[] Uniform()
    {
        var vector = new float[ContentVectors.Dimensions];
        for (var i = 0; i < vector.Length; i++)
        {
            vector[i] = (float)(Math.Sqrt(-2 * Math.Log(1 - _random.NextDouble())) * Math.Cos(2 * Math.PI * _random.NextDouble()));
        }
        return Normalise(vector);
    }

    private static float[] Normalise(float[] vector)
    {
        var norm = MathF.Sqrt(System.Numerics.Tensors.TensorPrimitives.SumOfSquares<float>(vector));
        System.Numerics.Tensors.TensorPrimitives.Divide(vector, norm, vector);
        return vector;
    }
}
