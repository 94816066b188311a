import { CLIENT_ID_SEARCH_ATTRIBUTE } from '../../workflows/definitions';

/** Search attributes every namespace of ours needs; the Web UI filters a client's runs by them. */
export const SEARCH_ATTRIBUTES = [CLIENT_ID_SEARCH_ATTRIBUTE];
