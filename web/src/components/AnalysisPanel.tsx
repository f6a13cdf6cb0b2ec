// The AI root-cause analysis of a failed run, when the organization has it enabled.
import type { Analysis } from '../lib/types';

export function AnalysisPanel({ analysis }: { analysis: Analysis }) {
  const suggestions = Array.isArray(analysis.suggestions) ? analysis.suggestions.filter((s) => typeof s === 'string') : [];
  const text = (v: unknown) => (typeof v === 'string' ? v : null);
  return (
    <div class="space-y-2 text-sm" data-testid="analysis">
      {text(analysis.summary) && <p>{text(analysis.summary)}</p>}
      {text(analysis.rootCause) && <p><span class="font-semibold">Likely cause: </span>{text(analysis.rootCause)}</p>}
      {suggestions.length > 0 && (
        <div>
          <p class="font-semibold">Suggested fixes</p>
          <ul class="ml-5 list-disc">{suggestions.map((s) => <li key={s}>{s}</li>)}</ul>
        </div>
      )}
      {(analysis.model || analysis.confidence !== undefined) && (
        <p class="text-xs text-slate-500">{[text(analysis.model), analysis.confidence !== undefined ? `confidence ${String(analysis.confidence)}` : null].filter(Boolean).join(' · ')}</p>
      )}
    </div>
  );
}
