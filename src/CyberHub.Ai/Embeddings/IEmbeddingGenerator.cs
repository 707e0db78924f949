namespace CyberHub.Ai.Embeddings;

/// <summary>Turns texts into unit-length sentence embeddings.</summary>
public interface IEmbeddingGenerator
{
    string ModelName { get; }

    int Dimension { get; }

    /// <summary>One L2-normalised vector of <see cref="Dimension"/> floats per text, in the order given.</summary>
    Task<float[][]> EmbedAsync(IReadOnlyList<string> texts, CancellationToken cancellationToken = default);
}
