// The AI root-cause analysis of a failed run (executions.analysis, worker/contracts/analysis.ts):
// pending while the run is ANALYZING, then the model's summary, likely cause and suggested fix, or
// why there is no analysis (turned off, not configured, the model failed).
import type { AnalysisRecord } from '../lib/types';
import { Badge } from './ui';

const CATEGORY: Record<string, string> = {
  product_bug: 'Product bug',
  test_bug: 'Test bug',
  environment: 'Environment',
  infrastructure: 'Infrastructure',
  flaky: 'Flaky test',
  unknown: 'Unknown',
};

const text = (v: unknown) => (typeof v === 'string' && v.trim() ? v : null);

export function AnalysisPanel({ analysis }: { analysis: AnalysisRecord }) {
  if (analysis.status === 'pending') {
    return (
      <p class='flex items-center gap-2 text-sm text-violet-700 dark:text-violet-300' role='status' data-testid='analysis'>
        <span class='size-3 animate-spin rounded-full border-2 border-current border-t-transparent' aria-hidden='true' />
        Analyzing the failure…
      </p>
    );
  }
  if (analysis.status === 'failed' || analysis.status === 'skipped') {
    return (
      <p class='text-sm text-slate-500' data-testid='analysis'>
        No AI analysis for this run{text(analysis.error) ? `: ${analysis.error}` : '.'}
      </p>
    );
  }
  const confidence = typeof analysis.confidence === 'number' ? `${Math.round(analysis.confidence * 100)}% confidence` : null;
  return (
    <div class='space-y-3 text-sm' data-testid='analysis'>
      <div class='flex flex-wrap items-center gap-2'>
        {text(analysis.category) && (
          <Badge class='bg-violet-100 text-violet-800 dark:bg-violet-900 dark:text-violet-200'>{CATEGORY[analysis.category!] ?? analysis.category}</Badge>
        )}
        {confidence && <span class='text-xs text-slate-500'>{confidence}</span>}
      </div>
      {text(analysis.summary) && <p>{analysis.summary}</p>}
      {text(analysis.likelyCause) && (
        <div>
          <p class='font-semibold'>Likely cause</p>
          <p class='whitespace-pre-wrap'>{analysis.likelyCause}</p>
        </div>
      )}
      {text(analysis.suggestedFix) && (
        <div>
          <p class='font-semibold'>Suggested fix</p>
          <p class='whitespace-pre-wrap'>{analysis.suggestedFix}</p>
        </div>
      )}
      {text(analysis.model) && (
        <p class='text-xs text-slate-500'>
          {analysis.model}
          {analysis.truncated ? ' · input was shortened to fit' : ''}
        </p>
      )}
    </div>
  );
}
